"""Model registry and architectures. Importing this package registers every model."""

from detcnn.models import cnn, resnet  # noqa: F401  (registration side effects)
from detcnn.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
