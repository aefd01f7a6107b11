"""Every registered model: its kind and dataset arguments, output shape, finite output, a gradient on every
parameter, weights that round-trip through a saved state dict, clear errors.

Classifiers take ``(N, 3, 33, 33)`` images; segmenters ``(N, n_views * 1, 16, 16)`` images (a multiple of
``2**depth`` = 8). ``MODEL_ARGS`` holds what a model needs beyond that to accept the input.
"""

from __future__ import annotations

import io

import pytest
import torch

from detcnn.errors import ConfigError
from detcnn.kinds import NetworkKind
from detcnn.models import create_model, list_models, model_kind, model_takes, register_model
from detcnn.training.network import build_model, network_args
from detcnn.training.scaling import InputScaling

ATTRS = {"channels": ["a", "b", "c"], "class_names": ["gluon", "quark"]}
# nova_cvn groups its channels by view: the 3 test channels as 3 views of 1 channel (MicroBooNE's wire planes)
MODEL_ARGS: dict[str, dict[str, object]] = {"nova_cvn": {"n_views": 3}}
SEGMENTER_ARGS: dict[str, object] = {"width": 4, "depth": 3, "n_views": 2, "in_channels": 2, "image_size": 16}


def test_every_model_has_a_kind_and_list_models_still_lists_them_all() -> None:
    classifiers, segmenters = list_models(kind=NetworkKind.CLASSIFIER), list_models(kind="segmenter")
    assert {"nova_cvn", "resnet", "komiske_cnn"} <= set(classifiers)
    assert segmenters == ["unet", "uresnet"] and list_models(kind=NetworkKind.LOCALISER) == ["loc_unet"]
    assert list_models() == sorted([*classifiers, *segmenters, "loc_unet"])
    assert model_kind("unet") is NetworkKind.SEGMENTER and model_kind("nova_cvn") is NetworkKind.CLASSIFIER
    with pytest.raises(ValueError, match="unknown model kind 'detector'; valid: classifier, segmenter, localiser"):
        list_models(kind="detector")
    with pytest.raises(ValueError, match="unknown model kind 'regressor'"):
        register_model("some_regressor", kind="regressor")
    with pytest.raises(ValueError, match=r"unknown dataset argument\(s\) \['n_channels'\]"):
        register_model("some_net", kind=NetworkKind.CLASSIFIER, takes=("n_channels",))
    assert "some_regressor" not in list_models() and "some_net" not in list_models()
    with pytest.raises(ConfigError, match="unknown model 'vgg99'"):
        model_kind("vgg99")


def test_the_registration_says_which_dataset_arguments_a_model_takes() -> None:
    """``n_views`` (detector views) and ``upsampling`` (a localisation's grid) go to the networks registered
    as taking them, and only to those: a constructor that does not take one refuses it."""
    assert [m for m in list_models() if model_takes(m, "n_views")] == ["nova_cvn", "unet", "uresnet"]
    assert [m for m in list_models() if model_takes(m, "upsampling")] == ["loc_unet"]
    attrs = {"channels": ["xz", "yz"], "views": ["xz", "yz"], "upsampling": 4}
    assert network_args("unet", {"width": 4}, attrs, 16, 3) == {
        "in_channels": 2, "num_classes": 3, "image_size": 16, "n_views": 2, "width": 4}  # fmt: skip
    assert network_args("loc_unet", {}, attrs, 16, 3)["upsampling"] == 4
    assert "n_views" not in network_args("resnet", {}, attrs, 16, 3)
    with pytest.raises(ConfigError, match=r"bad arguments for model 'resnet'.*n_views"):
        create_model("resnet", in_channels=2, num_classes=3, image_size=16, n_views=2)
    with pytest.raises(ConfigError, match=r"bad arguments for model 'unet'.*upsampling"):
        create_model("unet", in_channels=2, num_classes=3, image_size=16, upsampling=4)


def _reloaded_and_fresh(name: str, model: torch.nn.Module, **kwargs: object) -> tuple[torch.nn.Module, torch.nn.Module]:
    """``model``'s weights saved and loaded (``weights_only``) into a new instance, and another instance
    initialised from another seed; both in eval mode."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(1)
    reloaded, fresh = create_model(name, **kwargs), create_model(name, **kwargs)
    reloaded.load_state_dict(torch.load(buffer, weights_only=True))
    return reloaded.eval(), fresh.eval()


@pytest.mark.parametrize("name", list_models(kind="classifier"))
def test_every_model_trains(name: str) -> None:
    torch.manual_seed(0)
    kwargs = {"in_channels": 3, "num_classes": 2, "image_size": 33, **MODEL_ARGS.get(name, {})}
    model = create_model(name, **kwargs)
    x = torch.rand(4, 3, 33, 33)
    out = model(x)
    assert out.shape == (4, 2)
    assert torch.isfinite(out).all()
    out.logsumexp(dim=1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert torch.isfinite(p.grad).all(), pname
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())
    model.eval()
    reloaded, fresh = _reloaded_and_fresh(name, model, **kwargs)
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(reloaded(x), out, rtol=0, atol=0)  # the weights are the whole model
        assert (fresh(x) - out).abs().max() > 1e-4, "another initialisation gives another output"
        torch.testing.assert_close(model.forward_head(model.forward_features(x)), out)


@pytest.mark.parametrize("name", list_models(kind="classifier"))
def test_batchnorm_off_is_possible(name: str) -> None:
    model = create_model(name, in_channels=3, num_classes=3, image_size=33, norm="none", **MODEL_ARGS.get(name, {}))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert model(torch.rand(2, 3, 33, 33)).shape == (2, 3)


@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
@pytest.mark.parametrize("name", list_models(kind="segmenter"))
def test_every_segmenter_trains(name: str, upsample: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=3, upsample=upsample, **SEGMENTER_ARGS)
    assert model.encoder.out_channels == [4, 8, 16, 32]  # width * 2**level, levels 0..depth
    x = torch.rand(4, 2, 16, 16)
    out = model(x)
    assert out.shape == (4, 3, 2, 16, 16)  # (N, classes, views, H, W)
    assert torch.isfinite(out).all()
    out.logsumexp(dim=1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, f"{name}: zero gradient for {pname}"
    model.eval()
    reloaded, fresh = _reloaded_and_fresh(name, model, num_classes=3, upsample=upsample, **SEGMENTER_ARGS)
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(reloaded(x), out, rtol=0, atol=0)  # the weights are the whole model
        assert (fresh(x) - out).abs().max() > 1e-4, "another initialisation gives another output"
        regression = create_model(name, num_classes=1, **SEGMENTER_ARGS).eval()
        assert regression(x).shape == (4, 1, 2, 16, 16)


@pytest.mark.parametrize("name", list_models(kind="segmenter"))
def test_segmenter_batchnorm_off_is_possible(name: str) -> None:
    model = create_model(name, num_classes=3, norm="none", **SEGMENTER_ARGS)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert model(torch.rand(2, 2, 16, 16)).shape == (2, 3, 2, 16, 16)
    batch = create_model(name, num_classes=3, norm="batch", **SEGMENTER_ARGS)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in batch.modules())


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'vgg99'.*komiske_cnn.*resnet"):
        create_model("vgg99")


def test_bad_argument_names_the_model() -> None:
    with pytest.raises(ValueError, match="bad arguments for model 'resnet'"):
        create_model("resnet", depth_multiplier=3)


@pytest.mark.parametrize(("name", "size", "needed"), [("komiske_cnn", 4, "at least 8"), ("resnet", 2, "at least 4")])
def test_too_small_input_says_which_sizes_work(name: str, size: int, needed: str) -> None:
    with pytest.raises(ValueError, match=f"cannot take {size}x{size} images.*{needed}"):
        create_model(name, in_channels=3, num_classes=2, image_size=size)


def test_the_size_check_is_a_config_error_naming_the_sizes_that_work() -> None:
    # a minimum size (the classifiers' downsampling) and a divisor (the U-Net's 2**depth) share one check
    with pytest.raises(ConfigError, match=r"model 'komiske_cnn' cannot take 4x4 images; .*at least 8") as small:
        create_model("komiske_cnn", in_channels=3, num_classes=2, image_size=4)
    with pytest.raises(ConfigError, match=r"model 'unet' cannot take 50x50 images") as odd:
        create_model("unet", in_channels=2, n_views=2, num_classes=3, image_size=50, depth=3)
    assert "at least 8" in str(small.value)
    assert "multiple of 8" in str(odd.value) and "48" in str(odd.value) and "56" in str(odd.value)
    assert isinstance(small.value, ValueError) and isinstance(odd.value, ValueError)


def test_duplicate_registration_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @register_model("resnet", kind=NetworkKind.CLASSIFIER)
        def another() -> torch.nn.Module:  # pragma: no cover - never called
            return torch.nn.Identity()


def test_input_scaling_travels_with_the_weights() -> None:
    images = torch.rand(16, 3, 33, 33).numpy() * 5 + 2
    scaling = InputScaling.fit(images)
    model, args = build_model("komiske_cnn", {"filters": [4, 4, 4]}, ATTRS, 33, scaling)
    assert args["in_channels"] == 3 and args["num_classes"] == 2 and args["image_size"] == 33
    scaled = scaling(torch.from_numpy(images))
    torch.testing.assert_close(scaled.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(scaled.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    assert {"scaling.mean", "scaling.std"} <= set(model.state_dict())
