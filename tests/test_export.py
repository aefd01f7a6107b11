"""Every registered network exported to ONNX runs in ONNX Runtime as it runs in PyTorch (within 1e-5, on a
batch size other than the one it was traced on, with the input scaling inside the graph)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from detcnn.deploy.onnx_export import export_onnx, onnx_session, parity
from detcnn.models import create_model, list_models, model_kind
from detcnn.training.scaling import InputScaling, OutputScaling, ScaledModel

# (input channels, image size, constructor arguments) per kind: small instances, the shapes of the tests
# in test_models.py and test_smlm.py; nova_cvn takes its 3 channels as 3 views (a multi-view network).
KIND_INPUT: dict[str, tuple[int, int, dict[str, object]]] = {
    "classifier": (3, 33, {"num_classes": 3}),
    "segmenter": (2, 16, {"num_classes": 3, "width": 4, "depth": 2, "n_views": 2}),
    "localiser": (1, 16, {"num_classes": 4, "width": 4, "depth": 1, "head_width": 8, "upsampling": 4}),
}
MODEL_ARGS: dict[str, dict[str, object]] = {"nova_cvn": {"n_views": 3}}


def _scaled(name: str) -> tuple[ScaledModel, int, int]:
    channels, size, args = KIND_INPUT[model_kind(name)]
    torch.manual_seed(0)
    net = create_model(name, in_channels=channels, image_size=size, **args, **MODEL_ARGS.get(name, {}))
    gen = torch.Generator().manual_seed(1)
    scaling = InputScaling(torch.rand(channels, generator=gen, dtype=torch.float64),
                           0.5 + torch.rand(channels, generator=gen, dtype=torch.float64))  # fmt: skip
    model = ScaledModel(scaling, net, OutputScaling(2.0, 3.0) if name == "unet" else None).eval()
    for module in model.modules():  # batch norm with non-trivial statistics, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5, generator=gen)
            module.running_var.uniform_(0.5, 2.0, generator=gen)
    return model, channels, size


@pytest.mark.parametrize("name", list_models())
def test_onnx_runtime_matches_pytorch(name: str, tmp_path: Path) -> None:
    model, channels, size = _scaled(name)
    rng = np.random.default_rng(2)
    path = tmp_path / "model.onnx"
    export_onnx(model, rng.random((2, channels, size, size), dtype=np.float32), path)
    images = rng.random((5, channels, size, size), dtype=np.float32)  # another batch size: the axis is dynamic
    check = parity(model, path, images)
    assert check["max_abs_diff"] <= 1e-5, check
    (inputs,) = onnx_session(path).get_inputs()
    assert inputs.name == "images" and inputs.shape[1:] == [channels, size, size] and isinstance(inputs.shape[0], str)


def test_the_exported_graph_holds_the_input_scaling(tmp_path: Path) -> None:
    """The same network behind another scaling gives another ONNX output: the scaling is in the graph."""
    model, channels, size = _scaled("komiske_cnn")
    x = np.random.default_rng(3).random((4, channels, size, size), dtype=np.float32)
    export_onnx(model, x[:2], tmp_path / "a.onnx")
    model.scaling.mean += 1.0
    export_onnx(model, x[:2], tmp_path / "b.onnx")
    (a,) = onnx_session(tmp_path / "a.onnx").run(["output"], {"images": x})
    (b,) = onnx_session(tmp_path / "b.onnx").run(["output"], {"images": x})
    assert np.abs(a - b).max() > 1e-3


def test_export_without_weights_names_the_file_and_the_fix(tmp_path: Path) -> None:
    from detcnn.errors import InputError
    from detcnn.stages import export

    with pytest.raises(InputError, match=r"weights\.pt.*run the train rule"):
        export.run(weights=tmp_path / "weights.pt", test=tmp_path / "test.h5", onnx=tmp_path / "m.onnx",
                   summary=tmp_path / "e.json")  # fmt: skip
    assert not (tmp_path / "m.onnx").exists()


def _tiny_dataset(name: str) -> dict:
    import yaml

    return yaml.safe_load((Path(__file__).resolve().parents[1] / "config/tiny.yaml").read_text())["datasets"][name]


def test_preprocessing_records_every_image_setting_with_its_default() -> None:
    from detcnn.deploy.aoti_export import input_shape, preprocessing

    jets = preprocessing(_tiny_dataset("qg"), seed=7, dataset="qg")
    assert jets["events"] == "jets" and jets["seed"] == 7
    channels = ["charged_pt", "neutral_pt", "charged_multiplicity"]
    assert jets["images"] == {"n_pix": 33, "half_width": 0.4, "normalise": "pt_sum", "rotate": True, "flip": True,
                              "axis": "rapidity", "channels": channels}  # fmt: skip
    hits = preprocessing(_tiny_dataset("nu"), seed=7, dataset="nu")
    assert hits["hit_images"]["views"] == ["xz", "yz"] and hits["hit_images"]["noise_ke"] == 5.0  # a default
    assert input_shape(jets) == (3, 33, 33) and input_shape(hits) == (2, 16, 16)


def test_package_metadata_is_text_the_cpp_headers_read_back() -> None:
    from detcnn.deploy.aoti_export import metadata

    prep = {"events": "jets", "seed": 3, "images": {"n_pix": 16, "half_width": 0.1 + 0.2, "rotate": False,
                                                    "channels": ["total_pt", "multiplicity"]}}  # fmt: skip
    meta = metadata(prep, {"arch": "komiske_cnn", "args": {"num_classes": 2}, "class_names": ["g", "q"],
                           "task": "classification"})  # fmt: skip
    assert all(isinstance(v, str) for v in meta.values())
    assert float(meta["detcnn.images.half_width"]) == 0.1 + 0.2  # repr: the float to the bit
    assert meta["detcnn.images.rotate"] == "false" and meta["detcnn.images.channels"] == "total_pt,multiplicity"
    assert (meta["detcnn.events"], meta["detcnn.seed"], meta["detcnn.postprocess"]) == ("jets", "3", "softmax")
    assert (meta["detcnn.class_names"], meta["detcnn.n_outputs"]) == ("g,q", "2")
    regression = metadata(prep, {"arch": "nova_cvn", "args": {"num_classes": 1}, "task": "energy_regression"})
    assert regression["detcnn.postprocess"] == "identity"


def test_aoti_export_refuses_settings_of_other_images_before_compiling(tmp_path: Path) -> None:
    from detcnn.errors import ConfigError
    from detcnn.stages import export
    from detcnn.training.network import save_network

    model, channels, size = _scaled("komiske_cnn")
    args = {"in_channels": channels, "num_classes": 3, "image_size": size}
    save_network(tmp_path / "weights.pt", model, {"arch": "komiske_cnn", "args": args, "task": "classification"})
    prep = {"events": "jets", "seed": 0, "images": {"n_pix": 16, "channels": ["total_pt"]}}
    with pytest.raises(ConfigError, match=r"\(1, 16, 16\) images.*3 channels of 33 pixels"):
        export.run_aoti(weights=tmp_path / "weights.pt", out=tmp_path / "model.pt2", preprocessing=prep)
    with pytest.raises(ConfigError, match="--dataset-config"):  # the export stage: before anything is written
        export.run(weights=tmp_path / "weights.pt", test=tmp_path / "test.h5", onnx=tmp_path / "m.onnx",
                   summary=tmp_path / "e.json", aoti=tmp_path / "model.pt2")  # fmt: skip
    assert not list(tmp_path.glob("*.pt2")) and not (tmp_path / "m.onnx").exists()


def test_export_aoti_command_needs_the_image_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from detcnn.cli import main

    assert main(["export-aoti", "--weights", str(tmp_path / "w.pt"), "--out", str(tmp_path / "m.pt2")]) == 2
    assert "--preprocessing" in capsys.readouterr().err
