"""Data for training: input scaling fitted on the train split, and seeded mini-batches from either
memory or, for datasets larger than the memory budget, straight from the HDF5 file in blocks.

Both sources yield the same kind of batches, so the training loop does not know which one it has.
Streaming reads contiguous blocks of rows (whole HDF5 chunks) in a random block order and shuffles
within each block: memory stays at one block, reads stay sequential.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]


class InputScaling(nn.Module):
    """Per-channel standardisation ``(x - mean) / std`` with statistics of the train split.

    Stored as buffers, so they travel with the weights and evaluation needs nothing else.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1).float())
        self.register_buffer("std", std.reshape(1, -1, 1, 1).float())

    @classmethod
    def from_moments(cls, mean: np.ndarray, mean_sq: np.ndarray) -> InputScaling:
        """From per-channel E[x] and E[x^2]; a channel with zero spread keeps std 1."""
        std = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
        std = np.where(std > 0, std, 1.0)
        return cls(torch.from_numpy(np.asarray(mean, np.float64)), torch.from_numpy(std))

    @classmethod
    def fit(cls, images: np.ndarray) -> InputScaling:
        """Fit on ``images (N, C, H, W)``."""
        mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
        mean_sq = np.square(images, dtype=np.float64).mean(axis=(0, 2, 3))
        return cls.from_moments(mean, mean_sq)

    @classmethod
    def identity(cls, channels: int) -> InputScaling:
        return cls(torch.zeros(channels), torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ScaledModel(nn.Module):
    """``net(scaling(x))``: the unit that is trained, checkpointed and evaluated."""

    def __init__(self, scaling: InputScaling, net: nn.Module) -> None:
        super().__init__()
        self.scaling = scaling
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.scaling(x))


class TensorSource:
    """Images and labels held in memory: ``X (N, C, H, W)`` float32, ``y (N,)`` int64."""

    def __init__(self, X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> None:
        self.X = torch.as_tensor(X)
        self.y = torch.as_tensor(y)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def labels(self) -> np.ndarray:
        return self.y.cpu().numpy()

    def scaling(self) -> InputScaling:
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

    def batches(self, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None) -> Iterator[Batch]:
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        order = order.to(self.X.device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield self.X[idx], self.y[idx]


class H5Source:
    """Images streamed from an image file (``X``, ``y``) in blocks of ``block_rows`` rows."""

    def __init__(self, path: str | os.PathLike[str], block_rows: int = 16_384) -> None:
        import h5py

        self.path = Path(path)
        self.block_rows = int(block_rows)
        with h5py.File(self.path, "r") as f:
            self._y = f["y"][...]

    def __len__(self) -> int:
        return len(self._y)

    @property
    def labels(self) -> np.ndarray:
        return self._y

    def _blocks(self, order: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        import h5py

        with h5py.File(self.path, "r") as f:
            X = f["X"]
            for start in order:
                yield int(start), X[start : start + self.block_rows]

    def scaling(self) -> InputScaling:
        """Per-channel moments accumulated block by block (float64)."""
        total = np.zeros(0)
        total_sq = np.zeros(0)
        count = 0
        for _, block in self._blocks(np.arange(0, len(self), self.block_rows)):
            s = block.sum(axis=(0, 2, 3), dtype=np.float64)
            s2 = np.square(block, dtype=np.float64).sum(axis=(0, 2, 3))
            total, total_sq = (s, s2) if count == 0 else (total + s, total_sq + s2)
            count += block.shape[0] * block.shape[2] * block.shape[3]
        return InputScaling.from_moments(total / count, total_sq / count)

    def batches(self, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None) -> Iterator[Batch]:
        starts = torch.arange(0, len(self), self.block_rows)
        if shuffle:
            starts = starts[torch.randperm(len(starts), generator=generator)]
        for start, block in self._blocks(starts.numpy()):
            X = torch.from_numpy(block)
            y = torch.from_numpy(self._y[start : start + len(block)])
            yield from TensorSource(X, y).batches(batch_size, shuffle=shuffle, generator=generator)


def open_source(path: str | os.PathLike[str], max_memory_gb: float) -> TensorSource | H5Source:
    """In memory when ``X`` fits in ``max_memory_gb``, streamed from the file otherwise."""
    import h5py

    with h5py.File(path, "r") as f:
        n_bytes = f["X"].size * f["X"].dtype.itemsize
        if n_bytes <= max_memory_gb * 1e9:
            return TensorSource(f["X"][...], f["y"][...])
    return H5Source(path)


@torch.no_grad()
def predict(
    model: nn.Module, source: TensorSource | H5Source, device: torch.device, batch_size: int = 1024
) -> np.ndarray:
    """Softmax probabilities ``(N, num_classes)`` of ``model`` on every image of ``source``, in order."""
    model.eval()
    out = []
    for xb, _ in source.batches(batch_size, shuffle=False):
        logits = model(xb.to(device, non_blocking=True))
        out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out).numpy()
