"""The seed of every generated shard, one formula for every source.

A source has seed *streams*: one per sample, each a small integer the source declares (its ``STREAMS``,
sample -> stream), and a *modulus*, the largest seed its generator takes. Shard ``k`` of a stream gets

    ``(base_seed * 1_000_003 + stream * 10_007 + k) % modulus + 1``

from the config's ``seed`` (``base_seed``): reproducible, distinct per (stream, shard) for fewer than 10,007
shards per stream, and never 0 (Pythia reads 0 as "seed from the clock"). Sources that seed the same
generator (numpy's, for the detector and the microscope simulations) declare disjoint streams, so that no
shard of one repeats a shard of the other.

Why not :class:`numpy.random.SeedSequence` (the textbook way to spawn independent streams): it gives other
seeds, so every generated file would change; these seeds are what the workflow's files were made with.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Multiplier of the config seed: consecutive config seeds land far apart.
BASE_STRIDE = 1_000_003
#: Multiplier of the stream: room for 10,007 shards per stream before two streams' seeds meet.
STREAM_STRIDE = 10_007


def shard_seed(base_seed: int, stream: int, shard: int, modulus: int) -> int:
    """The seed (1 .. ``modulus``) of shard ``shard`` of seed stream ``stream`` for the config seed ``base_seed``."""
    return (int(base_seed) * BASE_STRIDE + int(stream) * STREAM_STRIDE + int(shard)) % modulus + 1


def stream_of(streams: Mapping[str, int], sample: str) -> int:
    """The seed stream of ``sample`` in a source's ``streams``; a ValueError naming the valid samples."""
    if sample not in streams:
        raise ValueError(f"unknown sample '{sample}'; valid: {sorted(streams)}")
    return streams[sample]
