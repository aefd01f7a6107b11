"""Data for training: seeded mini-batches from either memory or, for datasets larger than the memory budget,
straight from the HDF5 file in blocks, the input scaling fitted on them, and predictions over a source.

Both sources yield the same kind of batches, so the training loop does not know which one it has.
Streaming reads contiguous blocks of rows (whole HDF5 chunks) in a random block order and shuffles
within each block: memory stays at one block, reads stay sequential. The target of a batch is whatever
the task names in the file: event classes ``y (N,)``, pixel classes ``y_pix (N, V, H, W)``, pixel energies
``e_pix`` or an event quantity ``truth/<name> (N,)``; ``rows`` restricts a split to some events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from detcnn.io.images import ImageFile
from detcnn.training.distributed import SINGLE, Ranks
from detcnn.training.scaling import InputScaling

Batch = tuple[torch.Tensor, torch.Tensor]


class TensorSource:
    """Images and targets held in memory: ``X (N, C, H, W)`` float32, ``y (N, ...)`` (see module doc)."""

    def __init__(self, X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> None:
        self.X = torch.as_tensor(X)
        self.y = torch.as_tensor(y)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def labels(self) -> np.ndarray:
        """All targets, in order, as a numpy array."""
        return self.y.cpu().numpy()

    def scaling(self) -> InputScaling:
        """The input scaling fitted on these images."""
        return InputScaling.fit(self.X.cpu().numpy())

    def to(self, device: torch.device) -> TensorSource:
        """The same data resident on ``device`` (batches are then sliced there, with no host copies)."""
        return TensorSource(self.X.to(device), self.y.to(device))

    def fits_on(self, device: torch.device, fraction: float = 0.5) -> bool:
        """Whether the images take less than ``fraction`` of the GPU memory that is free now."""
        if device.type != "cuda":
            return False
        free, _ = torch.cuda.mem_get_info(device)
        return self.X.element_size() * self.X.nelement() < fraction * free

    def batches(
        self, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None, ranks: Ranks = SINGLE
    ) -> Iterator[Batch]:
        """Batches of ``batch_size`` events in a seeded random (or the file's) order. Among several ranks the
        order is the same on every rank and each takes every ``world``-th event of each batch, so the ranks'
        shares of a batch make up the single-process batch (a last batch smaller than ``world`` is left out)."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        order = order.to(self.X.device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            if ranks.world > 1:
                if len(idx) < ranks.world:
                    break
                idx = idx[ranks.rank :: ranks.world]
            yield self.X[idx], self.y[idx]

    def shard(self, ranks: Ranks) -> tuple[TensorSource, np.ndarray]:
        """This rank's every ``world``-th event, and their positions in the source."""
        rows = np.arange(len(self))[ranks.rank :: ranks.world]
        idx = torch.from_numpy(rows).to(self.X.device)
        return TensorSource(self.X[idx], self.y[idx]), rows


class H5Source:
    """Images streamed from an open image file (``X`` and the ``target`` dataset) in blocks of ``block_rows``
    rows; ``rows`` (a boolean mask over the file's events) keeps some events only."""

    def __init__(
        self, images: ImageFile, block_rows: int = 16_384, target: str = "y", rows: np.ndarray | None = None
    ) -> None:
        self.images = images
        self.block_rows = int(block_rows)
        self.target = target
        self._X, self._T = images.dataset("X"), images.dataset(target)
        self._rows = np.ones(images.n_events, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
        self._y = images.read(target, self._rows) if self._T.ndim == 1 else None
        self._n = int(self._rows.sum())

    def __len__(self) -> int:
        return self._n

    @property
    def labels(self) -> np.ndarray:
        """All targets of the kept events, in file order (per-pixel targets: the target alone, not the images)."""
        return self._y if self._y is not None else self.images.read(self.target, self._rows)

    def _blocks(self, order: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """``(start, X, target)`` of the kept rows of each block of the file, blocks in ``order``."""
        for start in order:
            keep = self._rows[start : start + self.block_rows]
            if keep.any():
                block = slice(start, start + self.block_rows)
                yield int(start), self._X[block][keep], self._T[block][keep]

    def scaling(self) -> InputScaling:
        """Per-channel moments accumulated block by block (float64)."""
        total = np.zeros(0)
        total_sq = np.zeros(0)
        count = 0
        for _, block, _ in self._blocks(np.arange(0, len(self._rows), self.block_rows)):
            s = block.sum(axis=(0, 2, 3), dtype=np.float64)
            s2 = np.square(block, dtype=np.float64).sum(axis=(0, 2, 3))
            total, total_sq = (s, s2) if count == 0 else (total + s, total_sq + s2)
            count += block.shape[0] * block.shape[2] * block.shape[3]
        return InputScaling.from_moments(total / count, total_sq / count)

    def batches(
        self, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None, ranks: Ranks = SINGLE
    ) -> Iterator[Batch]:
        """Blocks in a seeded random (or the file's) order, batches shuffled within each; among several ranks
        the blocks are shared out in that order (rank r takes every ``world``-th from the r-th) and each rank
        makes batches of its share of ``batch_size``."""
        starts = torch.arange(0, len(self._rows), self.block_rows)
        if shuffle:
            starts = starts[torch.randperm(len(starts), generator=generator)]
        per_rank = max(1, batch_size // ranks.world)
        for _, block, target in self._blocks(starts.numpy()[ranks.rank :: ranks.world]):
            source = TensorSource(torch.from_numpy(block), torch.from_numpy(target))
            yield from source.batches(per_rank, shuffle=shuffle, generator=generator)

    def shard(self, ranks: Ranks) -> tuple[H5Source, np.ndarray]:
        """This rank's every ``world``-th kept event, and their positions among the kept events."""
        kept = np.flatnonzero(self._rows)
        mine = np.zeros_like(self._rows)
        mine[kept[ranks.rank :: ranks.world]] = True
        return H5Source(self.images, self.block_rows, self.target, mine), np.arange(len(kept))[
            ranks.rank :: ranks.world
        ]


def open_source(
    images: ImageFile, max_memory_gb: float, target: str = "y", rows: np.ndarray | None = None
) -> TensorSource | H5Source:
    """In memory when the kept rows of ``X`` fit in ``max_memory_gb``, streamed from the file otherwise.

    ``target``: the dataset the task learns (module doc); ``rows``: boolean mask of the events to keep.
    """
    images.dataset(target)  # a clear error when the file lacks the task's target
    n_rows = images.n_events if rows is None else int(np.sum(rows))
    X = images.dataset("X")
    if X.size * X.dtype.itemsize * n_rows / images.n_events <= max_memory_gb * 1e9:
        return TensorSource(images.read("X", rows), images.read(target, rows))
    return H5Source(images, target=target, rows=rows)


def softmax(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities from logits ``(N, K, ...)`` (the classification prediction)."""
    return torch.softmax(out.float(), dim=1)


@torch.no_grad()
def predict(
    model: nn.Module,
    source: TensorSource | H5Source,
    device: torch.device,
    batch_size: int = 1024,
    transform: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = softmax,
) -> np.ndarray:
    """``transform(model(x), x)`` for every image of ``source``, in order (default: softmax probabilities
    ``(N, num_classes)``); :func:`predict_with_loss` also gives the mean loss."""
    return predict_with_loss(model, source, device, batch_size, transform)[0]


@torch.no_grad()
def predict_with_loss(
    model: nn.Module,
    source: TensorSource | H5Source,
    device: torch.device,
    batch_size: int = 1024,
    transform: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = softmax,
    loss_fn: nn.Module | None = None,
) -> tuple[np.ndarray, float]:
    """Predictions as :func:`predict` and the event-weighted mean of ``loss_fn`` (NaN without one)."""
    model.eval()
    out, total, seen = [], 0.0, 0
    for xb, yb in source.batches(batch_size, shuffle=False):
        xb = xb.to(device, non_blocking=True)
        raw = model(xb)
        if loss_fn is not None:
            total += float(loss_fn(raw, yb.to(device, non_blocking=True))) * len(xb)
            seen += len(xb)
        out.append(transform(raw, xb).cpu())
    return torch.cat(out).numpy(), (total / seen if seen else float("nan"))
