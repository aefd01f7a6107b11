"""The optimiser and stopping settings of a training, from a model's ``train`` config section.

Torch-free: the config schema (:mod:`detcnn.config.schema`) takes the defaults of the ``models.<name>.train``
keys from this dataclass, so each default is written once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detcnn.errors import ConfigError

#: Keys of a model's ``train`` section that are not settings of the loop: read by the train stage (``device``,
#: ``seed``) and by the resources of the job (``gpus``).
ELSEWHERE = ("device", "seed", "gpus")


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser and stopping settings (from the model's ``train`` config)."""

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 4
    amp: bool = False  # bfloat16 autocast, CUDA only
    max_memory_gb: float = 4.0  # a split larger than this is streamed from its file
    max_train_events: int | None = None  # train on the first N events of the split only (a cheaper default)
    max_val_events: int | None = None  # early stopping on the first N validation events only
    lr_schedule: str = "constant"  # or "cosine": the learning rate falls as a half cosine to 0 over `epochs`

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> TrainSettings:
        """From a model's ``train`` section; a ConfigError naming the valid keys for an unknown one."""
        known = set(cls.__dataclass_fields__)
        unknown = set(cfg) - known - set(ELSEWHERE)
        if unknown:
            raise ConfigError(f"unknown train setting(s) {sorted(unknown)}; valid: {sorted(known | set(ELSEWHERE))}")
        return cls(**{k: v for k, v in cfg.items() if k in known})
