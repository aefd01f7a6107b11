"""Model registry and architectures. Importing this package registers every model."""

from detcnn.models import (  # noqa: F401  (registration side effects)
    cnn,
    densenet,
    fully_connected,
    inception,
    locally_connected,
    nova,
    resnet,
    separable,
    unet,
)
from detcnn.models.registry import TASKS, create_model, list_models, model_task, register_model

__all__ = ["TASKS", "create_model", "list_models", "model_task", "register_model"]
