"""Receptive fields through layouts, upsampling, transposed, 1-D and 3-D convolutions, and
operations that mix every position: each analytic field checked against autograd.

Oracle: :func:`cnnbook_lib.receptive.gradient_receptive_field` (the gradient of a unit of the
linearized network, all weights positive, is non-zero exactly on its receptive field). Where the
fields are unevenly spaced (after upsampling) the measurement covers a whole period of units;
where the field is global, the gradient of one unit must reach every input pixel. The models are
small, faithful versions of ConvNeXt (Liu et al. 2022), Swin (Liu et al. 2021), U-Net
(Ronneberger et al. 2015), WaveNet (van den Oord et al. 2016), ViT (Dosovitskiy et al. 2021) and
squeeze-and-excitation blocks (Hu et al. 2018), written here (torchvision and timm are not
dependencies).
"""
from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook_lib.receptive import gradient_receptive_field, receptive_field, unclipped_input_size


def assert_matches_gradient(model, input_size):
    """The analytic field (size, jump, start, spans of a period, box of the unit) equals the
    measured one on every axis, and no measured support touches the border."""
    g = gradient_receptive_field(model, input_size, erf_samples=0)
    rf = receptive_field(model, g.input_size)
    assert rf.output_hw == g.feature_shape[2:], (rf.output_hw, g.feature_shape)
    assert not any(g.clipped_hw), (g.boxes, g.input_size)
    assert g.axes == rf.axes, (g.axes, rf.axes)
    assert g.boxes[0] == rf.box(*g.unit) and g.boxes[1] == rf.box(*g.neighbour)
    return rf, g


def assert_global(model, input_size, by: str):
    """Analytic: global, made so by ``by``; measured: one unit's gradient reaches every pixel."""
    rf = receptive_field(model, input_size)
    assert rf.is_global and by in rf.global_by, rf
    assert "global" in repr(rf) and by in repr(rf)
    n = input_size[2:]
    assert rf.size == (n[0] if len(set(n)) == 1 else tuple(n)) and rf.jump == 0
    g = gradient_receptive_field(model, input_size, erf_samples=0)
    assert g.support.all(), g.boxes
    assert g.axes == rf.axes
    return rf, g


# ---------------------------------------------------------------------------------------------
# Channels-last blocks (ConvNeXt)
# ---------------------------------------------------------------------------------------------


class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's channels-first layer norm: permute to NHWC, normalize C, permute back."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c)
        self.pwconv1, self.act, self.pwconv2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.full((c,), 1e-6))

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)             # N C H W -> N H W C
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


def convnext_like():
    return nn.Sequential(nn.Conv2d(3, 8, 4, 4), LayerNorm2d(8), ConvNeXtBlock(8),
                         LayerNorm2d(8), nn.Conv2d(8, 16, 2, 2), ConvNeXtBlock(16))


def test_convnext_like_channels_last_block():
    rf, g = assert_matches_gradient(convnext_like(), (1, 3, 176, 176))
    # stem 4, block +6*4, downsample +1*4, block +6*8: the convolutions alone, as a layer list
    plain = receptive_field([(4, 4), (7, 1, 1, 3), (2, 2), (7, 1, 1, 3)])
    assert rf.axes == plain.axes and rf.size == 4 + 24 + 4 + 48 and rf.jump == 8


# ---------------------------------------------------------------------------------------------
# Window attention through reshape/permute (Swin)
# ---------------------------------------------------------------------------------------------


class WindowAttention(nn.Module):
    def __init__(self, c, heads, manual=False):
        super().__init__()
        self.heads, self.manual = heads, manual
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)

    def forward(self, x):                                  # (windows, tokens, C)
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.manual:
            attn = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
            y = attn.softmax(dim=-1) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, n, c))


class SwinBlock(nn.Module):
    def __init__(self, c, window, heads=2, manual=False, shift=0):
        super().__init__()
        self.w, self.shift = window, shift
        self.norm1, self.attn = nn.LayerNorm(c), WindowAttention(c, heads, manual)
        self.norm2 = nn.LayerNorm(c)
        self.mlp = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))

    def forward(self, x):                                  # (B, H, W, C)
        b, h, w, c = x.shape
        s = self.w
        y = self.norm1(x)
        if self.shift:                                     # shifted windows (no mask here)
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        y = y.view(b, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5)
        y = self.attn(y.reshape(-1, s * s, c))             # window partition
        y = y.view(b, h // s, w // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y                                          # window reverse
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """Swin's downsampling: the four pixels of each 2x2 patch side by side in the channels."""

    def __init__(self, c):
        super().__init__()
        self.norm, self.reduction = nn.LayerNorm(4 * c), nn.Linear(4 * c, 2 * c)

    def forward(self, x):
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class SwinLike(nn.Module):
    def __init__(self, window=4, merge=False, manual=False, shifted=False):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.norm = nn.LayerNorm(8)
        self.block = SwinBlock(8, window, manual=manual)
        if shifted:
            self.block = nn.Sequential(self.block, SwinBlock(8, window, shift=window // 2))
        self.merge = PatchMerging(8) if merge else None

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)       # tokens (B, HW, C)
        b, n, c = x.shape
        h = w = int(n ** 0.5)
        x = self.block(self.norm(x).view(b, h, w, c))
        if self.merge is not None:
            x = self.merge(x)
        return x.permute(0, 3, 1, 2)                       # back to (B, C, H, W)


@pytest.mark.parametrize("manual", [False, True])
def test_swin_like_window_attention(manual):
    """Each token sees its whole 4 x 4 window of 4 x 4-pixel patches: 16 pixels, the same for
    the 4 tokens of a window row, so the fields repeat every 4 units with a jump of 4."""
    rf, g = assert_matches_gradient(SwinLike(4, manual=manual), (1, 3, 96, 96))
    assert rf.size == 16 and rf.jump == 4 and rf.axes[0].period == 4
    assert rf.box(5, 6) == (16, 16, 31, 31) and not rf.is_global
    assert [row["op"] for row in rf.rows()] == ["conv", "window", "add"]
    assert "period=4" in repr(rf)


def test_swin_like_patch_merging_slices_and_concatenates():
    rf, g = assert_matches_gradient(SwinLike(4, merge=True), (1, 3, 128, 128))
    # the 2x2 merge of windows of 16 pixels: pairs of tokens inside one window, so still 16
    assert rf.size == 16 and rf.jump == 8 and rf.axes[0].period == 2


def test_swin_like_shifted_windows():
    """A window block, then one shifted by half a window (torch.roll): through the shifted
    window that holds it, an interior token also sees the window next to its own on one side,
    8 tokens of 4 pixels."""
    rf, g = assert_matches_gradient(SwinLike(4, shifted=True), (1, 3, 128, 128))
    assert rf.size == 32 and rf.jump == 4 and [r["op"] for r in rf.rows()].count("roll") == 2
    assert any("roll" in note for note in rf.notes)


def test_swin_like_window_covering_the_map_is_global():
    assert_global(SwinLike(8), (1, 3, 32, 32), "scaled_dot_product_attention")


# ---------------------------------------------------------------------------------------------
# Upsampling: fractional jumps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, align", [("nearest", None), ("nearest-exact", None),
                                         ("bilinear", False), ("bicubic", False)])
def test_upsampling_fractional_jump(mode, align):
    up = nn.Upsample(scale_factor=2, mode=mode, align_corners=align)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), nn.Conv2d(2, 2, 3, padding=1), up,
                        nn.Conv2d(2, 1, 3, padding=1))
    rf, g = assert_matches_gradient(net, (1, 1, 40, 40))
    if not align:
        assert rf.axes[0].jump == 1 and rf.axes[0].period == 2    # 2 / 2, fields in pairs
    assert any(row["op"].startswith("upsample") for row in rf.rows())


def test_nearest_upsampling_by_hand():
    """Stride-2 convolution (field 3, jump 2), nearest 2x: units 2m and 2m + 1 see the same
    3 pixels, so the jump is 1 on average; a 3x3 convolution after it reads three upsampled
    units, always two low-resolution ones: 5 pixels, centred 2 pixels further every 2 units."""
    net = nn.Sequential(nn.Conv2d(1, 1, 3, 2, 1), nn.Upsample(scale_factor=2),
                        nn.Conv2d(1, 1, 3, padding=1))
    rf, g = assert_matches_gradient(net, (1, 1, 32, 32))
    axis = rf.axes[0]
    assert axis.spans == ((-3, 1), (-1, 3)) and axis.jump == 1 and axis.size == 5
    up = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, 2, 1), nn.Upsample(scale_factor=2)), 32)
    assert up.axes[0].jump == 1 and up.axes[0].spans == ((-1, 1), (-1, 1))
    # a 4x upsampling of a stride-2 map: jump 1/2, exact
    up4 = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, 2, 1),
                                        nn.Upsample(scale_factor=4, mode="bilinear")), 32)
    assert up4.axes[0].jump == Fraction(1, 2) and up4.axes[0].period == 4


def test_interpolate_to_a_size():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 2, 3, 2), nn.Conv2d(2, 1, 3, padding=1)

        def forward(self, x):
            y = self.a(x)
            return self.b(F.interpolate(y, size=(3 * y.shape[-2], 3 * y.shape[-1]),
                                        mode="bilinear"))

    rf, g = assert_matches_gradient(Net(), (1, 1, 31, 31))
    assert rf.axes[0].jump == Fraction(2, 3)


def test_bilinear_align_corners():
    """align_corners=True samples input (n - 1)/(m - 1) units apart: 1/2 for m = 2n - 1."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 2, 3, 2), nn.Conv2d(2, 1, 3, padding=1)

        def forward(self, x):
            y = self.a(x)
            return self.b(F.interpolate(y, size=(2 * y.shape[-2] - 1, 2 * y.shape[-1] - 1),
                                        mode="bilinear", align_corners=True))

    rf, g = assert_matches_gradient(Net(), (1, 1, 41, 41))
    assert rf.axes[0].jump == 1 and rf.axes[0].period == 2


def test_pixel_shuffle_and_unshuffle():
    """ESPCN's sub-pixel upsampling (pixel_shuffle) spaces fields like a nearest upsampling;
    a space-to-depth stem (pixel_unshuffle) sees each 2 x 2 patch, like a 2 x 2 stride-2 conv."""
    espcn = nn.Sequential(nn.Conv2d(1, 8, 3, 2, 1), nn.PixelShuffle(2), nn.Conv2d(2, 1, 3, padding=1))
    up = nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), nn.Upsample(scale_factor=2),
                       nn.Conv2d(2, 1, 3, padding=1))
    rf, g = assert_matches_gradient(espcn, (1, 1, 32, 32))
    assert rf.axes == receptive_field(up, 32).axes
    stem = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4, 2, 3, padding=1))
    rf, g = assert_matches_gradient(stem, (1, 1, 32, 32))
    assert rf.axes == receptive_field([(2, 2), (3, 1, 1, 1)]).axes


def test_lp_pooling():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.LPPool2d(2, 3, 2), nn.Conv2d(2, 1, 3))
    rf, g = assert_matches_gradient(net, (1, 1, 32, 32))
    assert rf.axes == receptive_field([(3, 1), (3, 2), (3, 1)]).axes


# ---------------------------------------------------------------------------------------------
# Transposed convolutions (U-Net)
# ---------------------------------------------------------------------------------------------


def double_conv(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


class UNetLike(nn.Module):
    def __init__(self, kernel=2, padding=0):
        super().__init__()
        self.enc1, self.enc2, self.bottom = double_conv(1, 4), double_conv(4, 8), double_conv(8, 8)
        self.up2 = nn.ConvTranspose2d(8, 8, kernel, 2, padding)
        self.dec2 = double_conv(16, 8)
        self.up1 = nn.ConvTranspose2d(8, 4, kernel, 2, padding)
        self.dec1 = double_conv(8, 4)
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bottom(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.out(d1)


@pytest.mark.parametrize("kernel, padding", [(2, 0), (4, 1)])
def test_unet_like_transposed_convolutions(kernel, padding):
    rf, g = assert_matches_gradient(UNetLike(kernel, padding), (1, 1, 96, 96))
    assert rf.axes[0].jump == 1 and rf.output_hw == (96, 96)
    assert [row["op"] for row in rf.rows()].count("conv_transpose") == 2


def test_transposed_convolution_by_hand():
    """ConvTranspose k=3, s=2, p=1: even outputs read one input unit, odd ones two."""
    net = nn.Sequential(nn.ConvTranspose2d(1, 1, 3, 2, 1))
    rf = receptive_field(net, 8)
    assert rf.axes[0].spans == ((0, 0), (0, 1)) and rf.axes[0].jump == Fraction(1, 2)
    assert_matches_gradient(nn.Sequential(nn.Conv2d(1, 1, 3, 2), net), (1, 1, 24, 24))
    with pytest.raises(ValueError, match="read no input"):
        receptive_field(nn.Sequential(nn.ConvTranspose2d(1, 1, 2, 3)), 8)


# ---------------------------------------------------------------------------------------------
# 1-D and 3-D convolutions
# ---------------------------------------------------------------------------------------------


class WaveNetLike(nn.Module):
    """Causal dilated convolutions (kernel 2, dilations 1, 2, 4, 8, 1, 2, 4, 8) with gated
    activations and residual connections: field 1 + 2 * (1 + 2 + 4 + 8) = 31, all in the past."""

    def __init__(self, c=4, dilations=(1, 2, 4, 8) * 2):
        super().__init__()
        self.inp = nn.Conv1d(1, c, 1)
        self.filters = nn.ModuleList(nn.Conv1d(c, c, 2, dilation=d) for d in dilations)
        self.gates = nn.ModuleList(nn.Conv1d(c, c, 2, dilation=d) for d in dilations)
        self.res = nn.ModuleList(nn.Conv1d(c, c, 1) for _ in dilations)
        self.dilations = dilations

    def forward(self, x):
        x = self.inp(x)
        for f, g, r, d in zip(self.filters, self.gates, self.res, self.dilations):
            y = F.pad(x, (d, 0))                           # causal: pad the past only
            x = x + r(torch.tanh(f(y)) * torch.sigmoid(g(y)))
        return x


def test_wavenet_like_conv1d_stack():
    rf, g = assert_matches_gradient(WaveNetLike(), (1, 1, 80))
    assert rf.size == 31 and rf.jump == 1 and rf.padding == 30 and len(rf.axes) == 1
    assert rf.box(40) == (10, 40)                          # unit 40 sees samples 10..40


def test_conv3d_fields_per_axis():
    net = nn.Sequential(nn.Conv3d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool3d((1, 2, 2)),
                        nn.Conv3d(2, 2, (3, 1, 3), stride=(2, 1, 1), padding=(1, 0, 1)))
    rf, g = assert_matches_gradient(net, (1, 1, 20, 20, 20))
    # depth: 3, 3, 3 + 2 = 5; height: 3, 4, 4; width: 3, 4, 4 + 2*2 = 8
    assert rf.size == (5, 4, 8) and rf.jump == 2 and len(rf.axes) == 3


# ---------------------------------------------------------------------------------------------
# Attention (ViT): global
# ---------------------------------------------------------------------------------------------


class ViTBlock(nn.Module):
    def __init__(self, c, heads=2, kind="mha"):
        super().__init__()
        self.kind = kind
        self.norm1, self.norm2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.attn = nn.MultiheadAttention(c, heads, batch_first=True) if kind == "mha" else \
            WindowAttention(c, heads, manual=True)
        self.mlp = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))

    def forward(self, x):
        y = self.norm1(x)
        x = x + (self.attn(y, y, y, need_weights=False)[0] if self.kind == "mha" else self.attn(y))
        return x + self.mlp(self.norm2(x))


class ViTLike(nn.Module):
    def __init__(self, size=32, patch=8, c=16, kind="mha", classify=False):
        super().__init__()
        self.patch = nn.Conv2d(3, c, patch, patch)
        n = (size // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, c))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, c))
        self.blocks = nn.Sequential(ViTBlock(c, kind=kind), ViTBlock(c, kind=kind))
        self.head = nn.Linear(c, 10) if classify else None
        self.side = size // patch

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        x = self.blocks(x)
        if self.head is not None:
            return self.head(x[:, 0])
        b, n, c = x.shape                                  # dense output: tokens as a map
        return x[:, 1:].transpose(1, 2).reshape(b, c, self.side, self.side)


@pytest.mark.parametrize("kind, op", [("mha", "multi_head_attention_forward"),
                                      ("manual", "matmul")])
def test_vit_like_attention_is_global(kind, op):
    rf, g = assert_global(ViTLike(kind=kind), (1, 3, 32, 32), op)
    assert rf.global_by.startswith("blocks.0.attn")      # the first attention, not the patches


def test_vit_like_classifier_is_global():
    rf, g = assert_global(ViTLike(classify=True), (1, 3, 32, 32), "multi_head_attention_forward")
    assert rf.stopped_at is None


class MixerLike(nn.Module):
    """MLP-Mixer's token mixing: a linear layer over the token dimension, channels elsewhere."""

    def __init__(self, tokens=16, c=8):
        super().__init__()
        self.patch = nn.Conv2d(3, c, 4, 4)
        self.token_mlp = nn.Sequential(nn.Linear(tokens, 2 * tokens), nn.GELU(),
                                       nn.Linear(2 * tokens, tokens))
        self.channel_mlp = nn.Linear(c, c)

    def forward(self, x):
        y = self.patch(x)
        b, c, h, w = y.shape
        t = y.flatten(2)                                   # (B, C, tokens)
        t = t + self.token_mlp(t)
        t = self.channel_mlp(t.transpose(1, 2))            # (B, tokens, C)
        return t.transpose(1, 2).reshape(b, c, h, w)


def test_mixer_like_token_mixing_is_global():
    rf, g = assert_global(MixerLike(), (1, 3, 16, 16), "token_mlp.0 (linear)")


def test_patch_embedding_alone_is_local():
    net = nn.Sequential(nn.Conv2d(3, 8, 16, 16), nn.Flatten(2))
    rf = receptive_field(net, 64)
    assert rf.size == 16 and rf.jump == 16 and not rf.is_global


# ---------------------------------------------------------------------------------------------
# Squeeze-excitation, and a global pool in the middle
# ---------------------------------------------------------------------------------------------


class SEBlock(nn.Module):
    def __init__(self, c, r=2):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.fc1, self.fc2 = nn.Conv2d(c, c // r, 1), nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        y = self.conv(x)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(y.mean((2, 3), keepdim=True)))))
        return x + y * s


def test_se_block_is_global():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), SEBlock(4), nn.Conv2d(4, 4, 3, padding=1))
    rf, g = assert_global(net, (1, 1, 24, 24), "mean")
    assert rf.global_by == "1 (mean)"


class ImagePooling(nn.Module):
    """DeepLab's image-level branch: global average pool, 1x1 conv, upsampled back, concatenated
    with a local branch, then more convolutions."""

    def __init__(self):
        super().__init__()
        self.local, self.pooled = nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(1, 2, 1)
        self.after = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x):
        p = self.pooled(F.adaptive_avg_pool2d(x, 1))
        p = F.interpolate(p, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.after(torch.cat([self.local(x), p], 1))


def test_global_pool_followed_by_spatial_layers_is_global():
    rf, g = assert_global(ImagePooling(), (1, 1, 20, 20), "adaptive_avg_pool2d")


def test_global_pool_of_a_classifier_still_reports_the_field_before_it():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
    rf = receptive_field(net, 16)
    assert rf.size == 3 and not rf.is_global and rf.stopped_at.endswith("(adaptive_avg_pool2d)")


# ---------------------------------------------------------------------------------------------
# Random 1-D stacks with upsampling, transposed convolutions and crops: analytic == autograd
# ---------------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


class Crop(nn.Module):
    def __init__(self, left, right):
        super().__init__()
        self.left, self.right = left, right

    def forward(self, x):
        return F.pad(x, (-self.left, -self.right))


@st.composite
def stacks_1d(draw):
    modules, c = [], 1
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "pool", "up", "transposed", "crop"]))
        if kind == "conv":
            k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
            modules.append(nn.Conv1d(c, 2, k, s, draw(st.integers(0, (k - 1) * d // 2)), d))
            c = 2
        elif kind == "pool":
            k = draw(st.integers(2, 3))
            modules.append(nn.MaxPool1d(k, draw(st.integers(1, k)), draw(st.integers(0, k // 2))))
        elif kind == "up":
            mode = draw(st.sampled_from(["nearest", "linear", "nearest-exact"]))
            modules.append(nn.Upsample(scale_factor=draw(st.sampled_from([2, 3])), mode=mode))
        elif kind == "transposed":
            s = draw(st.integers(1, 3))
            k = draw(st.integers(s, 4))
            modules.append(nn.ConvTranspose1d(c, 2, k, s, draw(st.integers(0, (k - 1) // 2))))
            c = 2
        else:
            modules.append(Crop(draw(st.integers(0, 2)), draw(st.integers(0, 2))))
    return nn.Sequential(nn.Conv1d(1, 1, 1), *modules)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks_1d())
def test_random_1d_stacks_analytic_equals_gradient(net):
    # The measurement finds its units from the gradients alone (a run of units until two
    # periods repeat), which a fractional jump (upsampling after pooling) stretches past the
    # smallest unclipped size: measure on four times that size, 1-D inputs being cheap.
    _, c, n = unclipped_input_size(net)
    g = gradient_receptive_field(net, (1, c, 4 * n), erf_samples=0)
    rf = receptive_field(net, g.input_size)
    assert not any(g.clipped_hw), (g.boxes, g.input_size)
    assert g.axes == rf.axes, (g.axes, rf.axes)
    assert rf.output_hw == tuple(net(torch.zeros(g.input_size)).shape[-1:]) == g.feature_shape[2:]


def test_global_field_is_the_whole_input_not_more():
    """The padded patches reach past the border; a global field is what the input holds."""
    net = nn.Sequential(nn.Conv2d(3, 8, 6, 4, padding=1), nn.Flatten(2))

    class Attend(nn.Module):
        def forward(self, x):                              # (B, C, tokens)
            t = x.transpose(1, 2)
            return F.scaled_dot_product_attention(t, t, t).transpose(1, 2)

    rf, g = assert_global(nn.Sequential(net, Attend(), nn.Unflatten(2, (8, 8))),
                          (1, 3, 32, 32), "scaled_dot_product_attention")
    assert receptive_field(net, 32).box(0, 0)[:2] == (-1, -1)          # and 32 at the end


def test_tensors_made_from_a_shape_carry_no_field():
    """A mask built with ``x.new_zeros`` (as Swin builds its shifted-window mask) is a constant:
    adding it to the attention logits does not make the field global."""
    class Masked(WindowAttention):
        def forward(self, x):
            mask = x.new_zeros(x.shape[1], x.shape[1])
            b, n, c = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return self.proj(y.transpose(1, 2).reshape(b, n, c))

    net = SwinLike(4)
    net.block.attn = Masked(8, 2)
    rf, g = assert_matches_gradient(net, (1, 3, 96, 96))
    assert rf.size == 16 and not rf.is_global


def test_default_input_size_for_fixed_size_and_windowed_models():
    """A ViT with fixed position embeddings runs at 32 only: the default measurement finds it;
    a window model's small inputs are covered by one window, so the default grows past them."""
    g = gradient_receptive_field(ViTLike(), erf_samples=0)
    assert g.input_size == (1, 3, 32, 32) and g.support.all()
    assert all(a.is_global for a in g.axes) and g.feature_shape == (1, 16, 4, 4)
    g = gradient_receptive_field(SwinLike(4), erf_samples=0)
    rf = receptive_field(SwinLike(4), g.input_size)
    assert not any(a.is_global for a in g.axes) and not any(g.clipped_hw)
    assert g.axes == rf.axes and g.size == 16


class NonLocal(nn.Module):
    """Non-local block (Wang et al. 2018): every position attends to every other, with bmm."""

    def __init__(self, c):
        super().__init__()
        self.theta, self.phi, self.g = (nn.Conv2d(c, c, 1) for _ in range(3))
        self.out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)       # (B, HW, C)
        k, v = self.phi(x).flatten(2), self.g(x).flatten(2).transpose(1, 2)
        y = torch.bmm(torch.softmax(torch.bmm(q, k), -1), v)
        return x + self.out(y.transpose(1, 2).reshape(b, c, h, w))


def test_non_local_block_with_bmm_is_global():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), NonLocal(4), nn.Conv2d(4, 2, 3, padding=1))
    assert_global(net, (1, 1, 16, 16), "1 (bmm)")


def test_group_norm_mixes_every_position():
    """Group normalization divides by statistics over all positions: every unit depends on
    every pixel (in eval mode too, unlike batch norm, which uses running statistics)."""
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.Conv2d(4, 1, 3))
    assert_global(net, (1, 1, 12, 12), "group_norm")
    bn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, 1, 3))
    assert receptive_field(bn, 12).size == 5
