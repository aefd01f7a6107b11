"""Model registry and architectures. Importing this package registers every model."""

from detcnn.models import (  # noqa: F401  (registration side effects)
    cnn,
    densenet,
    fully_connected,
    inception,
    locally_connected,
    resnet,
    separable,
)
from detcnn.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
