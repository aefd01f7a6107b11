"""U-Net / U-ResNet segmenters and the multi-view NOvA CVN classifier, each tested for what defines it: the
decoder returns the input's resolution, skip connections carry pixel-level information, views share (U-Net)
or do not share (CVN) weights, and sizes or channel counts the network cannot take are refused clearly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from detcnn.models import create_model
from detcnn.models.blocks.upsample import UpConvTranspose, UpsampleConv

UPSAMPLE = ["transpose", "bilinear"]
SEGMENTERS = ["unet", "uresnet"]


def tiny(name: str, **kwargs: object) -> nn.Module:
    """A small segmenter in eval mode (BatchNorm then a fixed per-channel affine map)."""
    torch.manual_seed(0)
    args = {"in_channels": 1, "num_classes": 2, "image_size": 16, "width": 4, "depth": 3, **kwargs}
    return create_model(name, **args).eval()


def test_transposed_conv_paints_one_2x2_patch_per_input_pixel() -> None:
    # y[n, o, 2i + a, 2j + b] = sum_c W[c, o, a, b] x[n, c, i, j] + bias[o]: stride 2 = kernel 2, no overlap
    torch.manual_seed(0)
    up = UpConvTranspose(3, 2)
    x = torch.randn(2, 3, 4, 5)
    w, bias = up.conv.weight, up.conv.bias
    expected = torch.einsum("coab,ncij->noiajb", w, x).reshape(2, 2, 8, 10) + bias.view(1, -1, 1, 1)
    torch.testing.assert_close(up(x), expected)


def test_bilinear_upsampling_by_hand() -> None:
    # align_corners=False: output pixel d samples input position (d + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25,
    # clamped to [0, 1]; the row [0, 1] becomes [0, 0.25, 0.75, 1]
    block = UpsampleConv(1, 1)
    out = block.upsample(torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]]))
    torch.testing.assert_close(out, torch.tensor([0.0, 0.25, 0.75, 1.0]).expand(1, 1, 4, 4))
    assert block(torch.rand(2, 1, 5, 7)).shape == (2, 1, 10, 14)


@pytest.mark.parametrize("upsample", UPSAMPLE)
@pytest.mark.parametrize("name", SEGMENTERS)
def test_decoder_returns_the_input_resolution_for_every_allowed_size(name: str, upsample: str) -> None:
    model = tiny(name, upsample=upsample, width=2)
    with torch.no_grad():
        for size in range(8, 97, 8):  # depth 3: multiples of 2**3 = 8
            assert model(torch.rand(1, 1, size, size)).shape == (1, 2, 1, size, size)
        assert model(torch.rand(1, 1, 24, 40)).shape == (1, 2, 1, 24, 40)  # H != W is fine if both divide


@pytest.mark.parametrize("name", SEGMENTERS)
def test_sizes_the_network_cannot_halve_are_refused_naming_the_nearest_valid_ones(name: str) -> None:
    for size in range(1, 97):
        if size % 8:
            with pytest.raises(ValueError, match=f"cannot take {size}x{size} images.*multiple of 8"):
                tiny(name, image_size=size)
    with pytest.raises(
        ValueError,
        match=r"at least 8 and a multiple of 8 \(2\*\*depth with depth=3\): nearest valid"
        r" sizes 48 or 56",
    ):
        tiny(name, image_size=50)
    with pytest.raises(ValueError, match=r"cannot take 0x0 images.*nearest valid sizes 8$"):
        tiny(name, image_size=0)
    with pytest.raises(ValueError, match=r"multiple of 4.*nearest valid sizes 8 or 12"):
        tiny(name, image_size=10, depth=2)
    tiny(name, image_size=12, depth=2)  # 12 = 3 * 2**2 is fine at depth 2
    model = tiny(name)
    with pytest.raises(ValueError, match=r"cannot take 50x48 images.*nearest valid sizes 48 or 56"):
        model(torch.rand(1, 1, 50, 48))
    with pytest.raises(
        ValueError, match=r"expects \(N, 1, H, W\) images \(n_views=1 x 1 channels per view\), got \(1, 2, 16"
    ):
        model(torch.rand(1, 2, 16, 16))


@pytest.mark.parametrize("upsample", UPSAMPLE)
@pytest.mark.parametrize("name", SEGMENTERS)
def test_the_skip_connection_carries_full_resolution_information(name: str, upsample: str) -> None:
    model = tiny(name, upsample=upsample)
    last = model.decoder.stages[-1]  # the up-step back to full resolution; its skip is the encoder's level 0
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        full = model(x)
        handle = last.register_forward_pre_hook(lambda _m, args: (args[0], torch.zeros_like(args[1])))
        no_skip = model(x)
        handle.remove()
    assert (full - no_skip).abs().max() > 1e-3  # zeroing the skip's feature map changes the output

    # one input pixel changed: with only the skip path (the deep path zeroed) the output changes at that pixel
    # and nowhere beyond 4 pixels of it: two 3x3 convolutions in encoder level 0 and two in the last decoder
    # block, each reaching 1 pixel further (a 1x1 projection and the 1x1 head add nothing)
    r, c = 13, 20
    y = x.clone()
    y[0, 0, r, c] += 1.0
    handle = last.register_forward_pre_hook(lambda _m, args: (torch.zeros_like(args[0]), args[1]))
    with torch.no_grad():
        change = (model(y) - model(x)).abs().amax(dim=(0, 1, 2))  # (H, W)
    handle.remove()
    assert change[r, c] > 1e-4
    box = torch.zeros_like(change, dtype=torch.bool)
    box[r - 4 : r + 5, c - 4 : c + 5] = True
    assert change[~box].max() == 0
    assert change[box].gt(0).sum() > 9  # the change spreads inside the box, not just to the pixel
    with torch.no_grad():
        assert (model(y) - model(x)).abs()[..., r, c].max() > 1e-4  # and the whole network responds there


@pytest.mark.parametrize("name", SEGMENTERS)
def test_views_are_segmented_separately_with_shared_weights(name: str) -> None:
    model = tiny(name, in_channels=2, n_views=2)
    x = torch.rand(3, 2, 16, 16)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (3, 2, 2, 16, 16)
        torch.testing.assert_close(model(x.flip(1)), out.flip(2))  # swapping the views swaps the outputs
        single = tiny(name, in_channels=1, n_views=1)
        single.load_state_dict(model.state_dict())  # the same parameters: nothing is per view
        for v in range(2):
            torch.testing.assert_close(single(x[:, v : v + 1])[:, :, 0], out[:, :, v])
    three = tiny(name, in_channels=6, n_views=3, num_classes=1)  # MicroBooNE's 3 planes, 2 channels each
    assert three(torch.rand(2, 6, 16, 16)).shape == (2, 1, 3, 16, 16)
    with pytest.raises(ValueError, match="in_channels=3 is not a positive multiple of n_views=2"):
        tiny(name, in_channels=3, n_views=2)


def nova(**kwargs: object) -> nn.Module:
    torch.manual_seed(0)
    return create_model("nova_cvn", **{"in_channels": 2, "num_classes": 3, "image_size": 48, **kwargs}).eval()


def test_nova_cvn_has_one_branch_per_view_with_its_own_weights() -> None:
    model = nova()
    assert len(model.views) == 2
    ids = [{id(p) for p in branch.parameters()} for branch in model.views]
    assert not ids[0] & ids[1]
    assert not torch.equal(model.views[0].stem.conv.weight, model.views[1].stem.conv.weight)
    # 50k-150k parameters keep it cheap on a CPU (99,474 with the default widths)
    assert 50_000 < sum(p.numel() for p in model.parameters()) < 150_000


def test_nova_cvn_a_change_in_one_view_reaches_only_its_branch_before_the_merge() -> None:
    model = nova()
    x = torch.rand(4, 2, 48, 48)
    y = x.clone()
    y[:, 1, 20:24, 30:34] += 1.0  # view 1 (channel 1) only
    with torch.no_grad():
        fx, fy = model.view_features(x), model.view_features(y)
        # 48 -> 24 (7x7 stride-2 conv) -> 12 -> 6 -> 3 (three 3x3 stride-2 pools); the second inception module
        # gives 24 + 32 + 16 + 16 = 88 channels, the merge module 32 + 48 + 16 + 16 = 112
        assert [f.shape for f in fx] == [(4, 88, 3, 3)] * 2
        torch.testing.assert_close(fy[0], fx[0], rtol=0, atol=0)
        assert (fy[1] - fx[1]).abs().max() > 1e-3
        assert (model(y) - model(x)).abs().max() > 0
        assert model.forward_features(x).shape == (4, 112, 3, 3)


def test_nova_cvn_takes_three_views_64_pixels_and_regression() -> None:
    model = nova(in_channels=3, n_views=3, image_size=64, num_classes=1)
    assert len(model.views) == 3
    with torch.no_grad():
        assert model(torch.rand(2, 3, 64, 64)).shape == (2, 1)
        assert [f.shape[-1] for f in model.view_features(torch.rand(2, 3, 64, 64))] == [4, 4, 4]  # 64 / 16
    with pytest.raises(ValueError, match="in_channels=3 is not a positive multiple of n_views=2"):
        nova(in_channels=3)
    with pytest.raises(ValueError, match=r"expects \(N, 2, H, W\) images \(n_views=2 x 1 channels per view\)"):
        nova()(torch.rand(1, 3, 48, 48))
    with pytest.raises(ValueError, match="cannot take 8x8 images; the size must be at least 16"):
        nova(image_size=8)
