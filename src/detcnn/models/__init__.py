"""Model registry and architectures. Importing this package registers every model: one module per registered
network, named as it is registered; their building blocks are in ``blocks/``."""

from detcnn.models import (  # noqa: F401  (registration side effects)
    densenet,
    fully_connected,
    inception_net,
    komiske_cnn,
    loc_unet,
    locally_connected,
    mobilenet,
    nova_cvn,
    resnet,
    se_resnet,
    unet,
    uresnet,
    xception,
)
from detcnn.models.registry import create_model, list_models, model_kind, model_takes, register_model

__all__ = ["create_model", "list_models", "model_kind", "model_takes", "register_model"]
