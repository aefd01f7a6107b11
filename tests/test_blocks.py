"""The building blocks of the model zoo, each tested for the property that defines it, not only its shape."""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from detcnn.models import create_model, list_models
from detcnn.models.blocks import (
    BasicBlock,
    Bottleneck1x1,
    BottleneckBlock,
    DenseBlock,
    InceptionModule,
    LocallyConnected2d,
    Pointwise,
    SeparableConv2d,
    SqueezeExcitation,
    Transition,
)
from tests.test_models import MODEL_ARGS


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def relu() -> nn.Module:
    return nn.ReLU(inplace=True)


def test_pointwise_is_a_matrix_product_at_every_pixel() -> None:
    torch.manual_seed(0)
    layer = Pointwise(4, 6)
    x = torch.randn(2, 4, 5, 5)
    weight, bias = layer.conv.weight[:, :, 0, 0], layer.conv.bias
    assert weight.shape == (6, 4)
    expected = torch.einsum("oi,nihw->nohw", weight, x) + bias.view(1, -1, 1, 1)
    torch.testing.assert_close(layer(x), expected)


def test_bottleneck1x1_is_reduce_conv_expand_and_cheaper_than_the_full_conv() -> None:
    torch.manual_seed(0)
    block = Bottleneck1x1(32, 8, 32, kernel_size=3, expand=True, act_layer=relu)
    x = torch.randn(2, 32, 7, 7)
    torch.testing.assert_close(block(x), block.expand(block.conv(block.reduce(x))))
    assert block(x).shape == (2, 32, 7, 7)
    assert block.conv.conv.in_channels == block.conv.conv.out_channels == 8
    assert n_params(block) < n_params(nn.Conv2d(32, 32, 3))
    branch = Bottleneck1x1(32, 8, 12, kernel_size=5)  # no expand: the kxk convolution gives the output width
    assert branch(x).shape == (2, 12, 7, 7) and isinstance(branch.expand, nn.Identity)


def locally_connected_by_loop(layer: LocallyConnected2d, x: torch.Tensor) -> torch.Tensor:
    """The definition: at output position (i, j), that position's own filters applied to its input patch."""
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    padded = F.pad(x, (p, p, p, p))
    h_out, w_out = layer.output_size
    out = torch.empty(x.shape[0], layer.out_channels, h_out, w_out, dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            patch = padded[:, :, i * s : i * s + k, j * s : j * s + k].reshape(x.shape[0], -1)
            out[:, :, i, j] = patch @ layer.weight[i * w_out + j].T + layer.bias[:, i, j]
    return out


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), (1, 1)])
def test_locally_connected_equals_a_loop_with_separate_filters_per_position(stride: int, padding: int) -> None:
    torch.manual_seed(0)
    layer = LocallyConnected2d(2, 3, input_size=5, kernel_size=3, stride=stride, padding=padding).double()
    x = torch.randn(4, 2, 5, 5, dtype=torch.float64)
    out = layer(x)
    size = (5 + 2 * padding - 3) // stride + 1
    assert out.shape == (4, 3, size, size)
    assert layer.weight.shape == (size * size, 3, 2 * 3 * 3)
    torch.testing.assert_close(out, locally_connected_by_loop(layer, x))


def test_locally_connected_with_one_shared_filter_is_a_convolution() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    layer = LocallyConnected2d(2, 3, input_size=5, kernel_size=3, padding=1)
    with torch.no_grad():
        layer.weight.copy_(conv.weight.reshape(3, -1).expand_as(layer.weight))
        layer.bias.copy_(conv.bias.view(3, 1, 1).expand_as(layer.bias))
    x = torch.randn(2, 2, 5, 5)
    torch.testing.assert_close(layer(x), conv(x))


def test_locally_connected_is_not_translation_equivariant_but_a_convolution_is() -> None:
    torch.manual_seed(0)
    image = torch.randn(1, 2, 5, 6)
    x, shifted = image[..., :5], image[..., 1:]  # shifted[..., j] == x[..., j + 1]: moved one pixel left
    conv = nn.Conv2d(2, 3, 3)
    torch.testing.assert_close(conv(shifted)[..., :-1], conv(x)[..., 1:])  # interior: the output moves along
    layer = LocallyConnected2d(2, 3, input_size=5, kernel_size=3)
    assert not torch.allclose(layer(shifted)[..., :-1], layer(x)[..., 1:], atol=1e-3)


def test_locally_connected_initialises_each_position_like_conv2d_and_checks_the_input_size() -> None:
    torch.manual_seed(0)
    layer = LocallyConnected2d(4, 8, input_size=9, kernel_size=3)
    bound = 1 / math.sqrt(4 * 3 * 3)  # nn.Conv2d's kaiming_uniform_(a=sqrt(5)) bound
    for tensor in (layer.weight, layer.bias):
        assert tensor.abs().max() <= bound and tensor.abs().max() > 0.9 * bound
    assert all(w.std() > 0.4 * bound for w in layer.weight)  # every position drawn, none left at zero
    with pytest.raises(ValueError, match=r"expects \(9, 9\) inputs"):
        layer(torch.randn(1, 4, 8, 8))


@pytest.mark.parametrize("inner_act", [True, False])
def test_separable_conv_is_depthwise_then_pointwise_with_fewer_parameters(inner_act: bool) -> None:
    torch.manual_seed(0)
    c_in, c_out, k = 6, 10, 3
    layer = SeparableConv2d(c_in, c_out, k, stride=2, inner_act=inner_act)
    depthwise = c_in * k * k + (c_in if inner_act else 0)  # Xception style: no depthwise bias (pointwise absorbs it)
    pointwise = c_in * c_out + c_out
    assert n_params(layer) == depthwise + pointwise
    assert n_params(layer) < c_in * c_out * k * k
    x = torch.randn(2, c_in, 9, 9)
    dw, pw = layer.depthwise.conv, layer.pointwise.conv
    by_hand = F.conv2d(F.conv2d(x, dw.weight, dw.bias, stride=2, padding=1, groups=c_in), pw.weight, pw.bias)
    assert by_hand.shape == (2, c_out, 5, 5)
    torch.testing.assert_close(layer(x), by_hand)


def test_separable_conv_mobilenet_and_xception_styles() -> None:
    mobile = SeparableConv2d(4, 8, norm_layer=nn.BatchNorm2d, act_layer=relu)
    xcept = SeparableConv2d(4, 8, norm_layer=nn.BatchNorm2d, act_layer=relu, inner_act=False, outer_act=False)
    assert isinstance(mobile.depthwise.norm, nn.BatchNorm2d) and isinstance(mobile.depthwise.act, nn.ReLU)
    assert isinstance(xcept.depthwise.norm, nn.Identity) and isinstance(xcept.depthwise.act, nn.Identity)
    assert isinstance(xcept.pointwise.norm, nn.BatchNorm2d) and isinstance(xcept.pointwise.act, nn.Identity)


def test_squeeze_excitation_scales_each_channel_by_a_gate_in_zero_one() -> None:
    torch.manual_seed(0)
    se = SqueezeExcitation(8, reduction=4)
    x = torch.randn(3, 8, 5, 5)
    gate = se.gate(x)
    assert gate.shape == (3, 8, 1, 1)
    assert (gate > 0).all() and (gate < 1).all()
    torch.testing.assert_close(se(x), x * gate)
    # the gate depends on the image only through its channel means (the squeeze)
    torch.testing.assert_close(se.gate(x), se.gate(x.mean(dim=(2, 3), keepdim=True)))


@pytest.mark.parametrize("block_cls", [BasicBlock, BottleneckBlock])
@pytest.mark.parametrize("se", [False, True])
@pytest.mark.parametrize("zero", ["norm", "conv"])
def test_residual_block_with_a_zero_branch_is_the_identity(
    block_cls: type[BasicBlock] | type[BottleneckBlock], se: bool, zero: str
) -> None:
    torch.manual_seed(0)
    norm = nn.BatchNorm2d if zero == "norm" else (lambda channels: nn.Identity())
    block = block_cls(16, 16, 1, norm, relu, se=se)
    assert isinstance(block.shortcut, nn.Identity)
    x = torch.rand(2, 16, 7, 7)  # non-negative, so act(x) == x
    assert not torch.allclose(block(x), x)
    last_conv, last_norm = (block.conv2, block.bn2) if block_cls is BasicBlock else (block.conv3, block.bn3)
    with torch.no_grad():
        if zero == "norm":
            last_norm.weight.zero_()
            last_norm.bias.zero_()
        else:
            last_conv.weight.zero_()
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    block.eval()
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)


def test_dense_block_concatenates_the_input_and_every_layer_output() -> None:
    torch.manual_seed(0)
    block = DenseBlock(5, n_layers=3, growth_rate=4, bn_size=2).eval()
    x = torch.randn(2, 5, 6, 6)
    out = block(x)
    assert block.out_channels == 5 + 3 * 4
    assert out.shape == (2, 17, 6, 6)
    torch.testing.assert_close(out[:, :5], x, rtol=0, atol=0)  # the input passes through unchanged
    y0 = block.layers[0](x)
    y1 = block.layers[1](torch.cat([x, y0], dim=1))  # layer 1 sees the input and layer 0's features
    torch.testing.assert_close(out[:, 5:9], y0)
    torch.testing.assert_close(out[:, 9:13], y1)
    assert [layer.norm1.num_features for layer in block.layers] == [5, 9, 13]


@pytest.mark.parametrize(("channels", "compression", "expected"), [(12, 0.5, 6), (10, 0.75, 7), (8, 1.0, 8)])
def test_transition_halves_the_resolution_and_compresses_the_channels(
    channels: int, compression: float, expected: int
) -> None:
    layer = Transition(channels, compression)
    out = layer(torch.randn(2, channels, 8, 10))
    assert layer.out_channels == expected == math.floor(channels * compression)
    assert out.shape == (2, expected, 4, 5)


def test_inception_module_concatenates_its_four_branches_at_full_resolution() -> None:
    torch.manual_seed(0)
    module = InceptionModule(8, 4, 4, 6, 2, 3, 5).eval()
    x = torch.randn(2, 8, 9, 9)
    out = module(x)
    assert module.out_channels == 4 + 6 + 3 + 5
    assert out.shape == (2, 18, 9, 9)
    branches = module.branches(x)
    assert [b.shape[1] for b in branches] == [4, 6, 3, 5]
    torch.testing.assert_close(out, torch.cat(branches, dim=1))


def test_mobilenet_width_multiplier_scales_channels_and_shrinks_parameters_quadratically() -> None:
    full = create_model("mobilenet", width_multiplier=1.0)
    half = create_model("mobilenet", width_multiplier=0.5)
    widths_full = [m.out_channels for m in full.modules() if isinstance(m, nn.Conv2d)]
    widths_half = [m.out_channels for m in half.modules() if isinstance(m, nn.Conv2d)]
    assert widths_half == [w // 2 for w in widths_full]
    assert n_params(half) < 0.4 * n_params(full)
    assert n_params(half) > 0.2 * n_params(full)  # ~alpha^2 = 0.25, plus the depthwise and head terms
    with_se = create_model("mobilenet", se=True)
    assert sum(isinstance(m, SqueezeExcitation) for m in with_se.modules()) == len(with_se.blocks)


@pytest.mark.parametrize("name", list_models(kind="classifier"))
def test_every_model_refuses_too_small_images_and_takes_the_smallest_it_names(name: str) -> None:
    with pytest.raises(ValueError, match=r"cannot take 0x0 images; the size must be at least \d+") as info:
        create_model(name, in_channels=3, num_classes=2, image_size=0, **MODEL_ARGS.get(name, {}))
    minimum = int(re.search(r"at least (\d+)", str(info.value)).group(1))
    for size in sorted({s for s in (2, minimum - 1) if 0 < s < minimum}):
        with pytest.raises(ValueError, match=f"cannot take {size}x{size} images.*at least {minimum}"):
            create_model(name, in_channels=3, num_classes=2, image_size=size, **MODEL_ARGS.get(name, {}))
    model = create_model(name, in_channels=3, num_classes=2, image_size=minimum, **MODEL_ARGS.get(name, {})).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, minimum, minimum))
    assert out.shape == (2, 2) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", list_models(kind="classifier"))
def test_norm_none_removes_every_batchnorm(name: str) -> None:
    batchnorms = (nn.BatchNorm1d, nn.BatchNorm2d)
    model = create_model(name, in_channels=3, num_classes=2, image_size=33, norm="none", **MODEL_ARGS.get(name, {}))
    assert not any(isinstance(m, batchnorms) for m in model.modules())
    if name != "komiske_cnn":  # the paper's CNN has no norm by default
        batch = create_model(
            name, in_channels=3, num_classes=2, image_size=33, norm="batch", **MODEL_ARGS.get(name, {})
        )
        assert any(isinstance(m, batchnorms) for m in batch.modules())
