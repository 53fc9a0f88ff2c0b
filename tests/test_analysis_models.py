"""analysis.summarize on the models a practitioner brings, checked against independent oracles:
``FlopCounterMode`` (forward and backward, on the meta device), autograd's saved-tensor hooks on a
real CPU forward pass, and ``numel()``.

The models are small faithful versions of what torchvision and timm ship (neither is a
dependency): a ViT (timm-style attention with ``F.scaled_dot_product_attention``, and
torchvision-style with ``nn.MultiheadAttention``), a Swin block (``F.linear`` on channels-last
windows), ConvNeXt, timm's ``StdConv2d`` and ``Conv2dSame``, a weight-normed convolution, Conv1d
and Conv3d nets (``Conv3DSimple`` subclasses ``Conv3d`` as in torchvision's ``mc3_18``), a U-Net
with transposed convolutions, a detection head with ``torch.nonzero``, timm's ``BatchNormAct2d``
and a language-model head tied to its embedding. The benchmark
``tests/benchmarks/bench_models.py`` imports ``ZOO`` from here.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as TF
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import analysis, architectures

# ---------------------------------------------------------------------------------------------
# ViT (timm's VisionTransformer layout) and torchvision's encoder block
# ---------------------------------------------------------------------------------------------


class Attention(nn.Module):
    """timm's Attention: one qkv projection, fused attention, an output projection."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = TF.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim), Mlp(dim, mlp_ratio * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class MHABlock(nn.Module):
    """torchvision's EncoderBlock: ``nn.MultiheadAttention`` (its ``F.linear`` in-projection and
    fused attention run inside the module, not in an ``nn.Linear``)."""

    def __init__(self, dim, heads, mlp_ratio=4):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2, self.mlp = nn.LayerNorm(dim), Mlp(dim, mlp_ratio * dim)

    def forward(self, x):
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class ViT(nn.Module):
    """Patch embedding, class token, position embedding, ``depth`` blocks, a linear head."""

    def __init__(self, image=32, patch=8, dim=64, depth=2, heads=4, classes=10, block=Block):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        tokens = (image // patch) ** 2 + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.blocks = nn.Sequential(*[block(dim, heads) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


# ---------------------------------------------------------------------------------------------
# Swin: window attention on channels-last maps, F.linear, relative position bias, shifts
# ---------------------------------------------------------------------------------------------


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, window):
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv_weight = nn.Parameter(torch.randn(3 * dim, dim) * 0.02)
        self.qkv_bias = nn.Parameter(torch.zeros(3 * dim))
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window),
                                            indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
        self.register_buffer("index", rel[..., 0] * (2 * window - 1) + rel[..., 1],
                             persistent=False)

    def forward(self, x):                        # x: (B*, w*w, C)
        b, n, c = x.shape
        qkv = TF.linear(x, self.qkv_weight, self.qkv_bias)
        q, k, v = qkv.reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
        bias = self.bias_table[self.index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1)
        attn = (attn + bias.unsqueeze(0)).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, window=4, shift=0):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1, self.attn = nn.LayerNorm(dim), WindowAttention(dim, heads, window)
        self.norm2, self.mlp = nn.LayerNorm(dim), Mlp(dim, 4 * dim)

    def forward(self, x):                        # x: (B, H, W, C), channels last
        b, h, w, c = x.shape
        s, y = self.window, self.norm1(x)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        y = y.view(b, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, s * s, c)
        y = self.attn(y).view(b, h // s, w // s, s, s, c).permute(0, 1, 3, 2, 4, 5)
        y = y.reshape(b, h, w, c)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


class Swin(nn.Module):
    def __init__(self, dim=32, heads=2, classes=10):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, 4, 4)
        self.norm0 = nn.LayerNorm(dim)
        self.blocks = nn.Sequential(SwinBlock(dim, heads), SwinBlock(dim, heads, shift=2))
        self.merge_norm, self.merge = nn.LayerNorm(4 * dim), nn.Linear(4 * dim, 2 * dim, bias=False)
        self.head = nn.Linear(2 * dim, classes)

    def forward(self, x):
        x = self.norm0(self.patch_embed(x).permute(0, 2, 3, 1))
        x = self.blocks(x)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        x = self.merge(self.merge_norm(x))
        return self.head(x.mean((1, 2)))


# ---------------------------------------------------------------------------------------------
# ConvNeXt (torchvision's CNBlock layout)
# ---------------------------------------------------------------------------------------------


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (torchvision: permute, norm, permute back)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = TF.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1, self.act, self.pwconv2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y)))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


def convnext(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), classes=1000) -> nn.Module:
    """ConvNeXt-T by default (28.6 M parameters, as torchvision's convnext_tiny)."""
    layers = [nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6))]
    for i, (d, n) in enumerate(zip(dims, depths)):
        if i:
            layers.append(nn.Sequential(LayerNorm2d(dims[i - 1], eps=1e-6),
                                        nn.Conv2d(dims[i - 1], d, 2, 2)))
        layers.append(nn.Sequential(*[CNBlock(d) for _ in range(n)]))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), LayerNorm2d(dims[-1], eps=1e-6),
                         nn.Flatten(1), nn.Linear(dims[-1], classes))


# ---------------------------------------------------------------------------------------------
# timm's convolution variants, weight norm, BatchNormAct2d
# ---------------------------------------------------------------------------------------------


class StdConv2d(nn.Conv2d):
    """timm's StdConv2d: the weight standardized per output channel (with ``F.batch_norm``)."""

    def forward(self, x):
        w = TF.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                          training=True, momentum=0.0, eps=1e-6).reshape_as(self.weight)
        return TF.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2dSame(nn.Conv2d):
    """timm's Conv2dSame: TensorFlow 'SAME' padding computed from the input, then F.conv2d."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        pads = []
        for n, k, s, d in zip((iw, ih), self.kernel_size[::-1], self.stride[::-1], self.dilation[::-1]):
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads += [total // 2, total - total // 2]
        return TF.conv2d(TF.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation,
                         self.groups)


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d: batch norm (functional) and an activation module inside."""

    def __init__(self, c):
        super().__init__(c)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x):
        x = TF.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training, self.momentum, self.eps)
        return self.act(x)


def timm_convs() -> nn.Module:
    from torch.nn.utils.parametrizations import weight_norm
    return nn.Sequential(
        StdConv2d(3, 16, 3, padding=1, bias=False), BatchNormAct2d(16),
        Conv2dSame(16, 32, 3, stride=2), BatchNormAct2d(32),
        weight_norm(nn.Conv2d(32, 32, 3, padding=1)), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def std_conv_net() -> nn.Module:
    return nn.Sequential(StdConv2d(3, 32, 3, padding=1, bias=False), nn.GroupNorm(8, 32), nn.ReLU(),
                         StdConv2d(32, 64, 3, stride=2, padding=1, bias=False), nn.GroupNorm(8, 64),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def weight_norm_net() -> nn.Module:
    from torch.nn.utils.parametrizations import weight_norm
    return nn.Sequential(weight_norm(nn.Conv2d(3, 32, 3, padding=1)), nn.ReLU(),
                         weight_norm(nn.Conv2d(32, 64, 3, stride=2, padding=1)), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), weight_norm(nn.Linear(64, 10)))


# ---------------------------------------------------------------------------------------------
# 1-D, 3-D, U-Net, detection head, tied weights
# ---------------------------------------------------------------------------------------------


def conv1d_net() -> nn.Module:
    return nn.Sequential(nn.Conv1d(1, 16, 9, padding=4), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.MaxPool1d(2), nn.Conv1d(16, 32, 5, stride=2, dilation=2), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 5))


class Conv3DSimple(nn.Conv3d):
    """torchvision's video ResNet convolution: a Conv3d subclass that keeps Conv3d's forward."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__(c_in, c_out, 3, stride, 1, bias=False)


def conv3d_net() -> nn.Module:
    return nn.Sequential(Conv3DSimple(3, 16), nn.BatchNorm3d(16), nn.ReLU(inplace=True),
                         Conv3DSimple(16, 32, 2), nn.BatchNorm3d(32), nn.ReLU(inplace=True),
                         nn.MaxPool3d(2), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(32, 4))


class UNet(nn.Module):
    """Two levels down, transposed convolutions up, skip connections by concatenation."""

    def __init__(self, c=16, classes=2):
        super().__init__()

        def double(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(True),
                                 nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(True))
        self.down1, self.down2, self.bottom = double(3, c), double(c, 2 * c), double(2 * c, 4 * c)
        self.pool = nn.MaxPool2d(2)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, 2), double(4 * c, 2 * c)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * c, c, 2, 2), double(2 * c, c)
        self.out = nn.Conv2d(c, classes, 1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(self.pool(d1))
        b = self.bottom(self.pool(d2))
        u2 = self.dec2(torch.cat([self.up2(b), d2], 1))
        u1 = self.dec1(torch.cat([self.up1(u2), d1], 1))
        return self.out(u1)


class DetectionHead(nn.Module):
    """A one-stage detector's head: class and box convolutions, then the boxes whose score passes
    a threshold (``torch.nonzero``: data-dependent, the meta device cannot run it)."""

    def __init__(self, c=32, classes=3):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 2, 1),
                                      nn.ReLU())
        self.cls, self.box = nn.Conv2d(c, classes, 3, padding=1), nn.Conv2d(c, 4, 3, padding=1)

    def forward(self, x):
        f = self.backbone(x)
        scores = self.cls(f).sigmoid().amax(1).flatten()
        boxes = self.box(f).permute(0, 2, 3, 1).reshape(-1, 4)
        keep = torch.nonzero(scores > 0.5).squeeze(1)
        return boxes[keep] * scores[keep, None]


class TiedHead(nn.Module):
    """A classifier whose output layer shares its weight with the input embedding."""

    def __init__(self, vocab=50, dim=16):
        super().__init__()
        self.embed = nn.Conv1d(vocab, dim, 1, bias=False)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.out.weight = self.proj.weight            # tied: one parameter, two layers

    def forward(self, x):                          # x: (B, vocab, L)
        h = self.embed(x).transpose(1, 2)
        return self.head(self.out(torch.relu(self.proj(h))))


# ---------------------------------------------------------------------------------------------
# The zoo: name -> (builder, input size for FLOPs, input size for the real-memory check)
# ---------------------------------------------------------------------------------------------

ZOO = {
    "vit_like": (lambda: ViT(image=64, patch=8, dim=192, depth=4, heads=3), (2, 3, 64, 64), (2, 3, 64, 64)),
    "vit_mha": (lambda: ViT(image=32, patch=4, dim=64, depth=2, heads=4, block=MHABlock),
                (2, 3, 32, 32), (2, 3, 32, 32)),
    "swin_like": (Swin, (2, 3, 32, 32), (2, 3, 32, 32)),
    "convnext_tiny_like": (convnext, (1, 3, 224, 224), (1, 3, 64, 64)),
    "std_conv": (std_conv_net, (2, 3, 32, 32), (2, 3, 32, 32)),
    "timm_convs": (timm_convs, (2, 3, 32, 32), (2, 3, 32, 32)),
    "weight_norm": (weight_norm_net, (2, 3, 32, 32), (2, 3, 32, 32)),
    "conv1d": (conv1d_net, (4, 1, 256), (4, 1, 256)),
    "conv3d": (conv3d_net, (2, 3, 8, 32, 32), (2, 3, 8, 32, 32)),
    "unet": (UNet, (1, 3, 64, 64), (1, 3, 64, 64)),
    "tied_head": (TiedHead, (2, 50, 12), (2, 50, 12)),
    "detection_head": (DetectionHead, (1, 3, 64, 64), (1, 3, 64, 64)),
}


def flop_counter(model, size, backward=False) -> int:
    """FlopCounterMode's total for a forward (or a backward) pass on meta tensors."""
    from test_analysis import real_flops
    return real_flops(model, torch.empty(size, device="meta"), backward)


def autograd_saved_bytes(model, x) -> int:
    """Bytes autograd keeps in a real forward pass: each storage the saved-tensor hooks see, once
    and whole; storages of parameters and buffers left out (model state, not activations)."""
    state = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    storages = {}

    def pack(t):
        storages.setdefault(t.untyped_storage().data_ptr(), t)
        return t
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(t.untyped_storage().nbytes() for ptr, t in storages.items() if ptr not in state)


def meta_model(name):
    with torch.device("meta"):
        return ZOO[name][0]()


# ---------------------------------------------------------------------------------------------
# Every op counted: FLOPs against FlopCounterMode, forward and backward
# ---------------------------------------------------------------------------------------------

NO_META = {"detection_head"}


@pytest.mark.parametrize("name", [n for n in ZOO if n not in NO_META])
def test_flops_match_flop_counter(name):
    model = meta_model(name).eval()
    size = ZOO[name][1]
    s = analysis.summarize(model, size)
    assert s.flops == flop_counter(model, size) == 2 * s.macs
    assert s.params == sum(p.numel() for p in model.parameters())
    assert sum(r.params for r in s.rows) <= s.params
    assert not s.uncosted_ops, s.uncosted_ops
    assert s.unattributed_flops == 0
    assert sum(r.macs for r in s.rows) == s.macs


GROUPED = {"convnext_tiny_like"}       # depthwise: FlopCounterMode's weight gradient is G x high


@pytest.mark.parametrize("name", ["vit_like", "vit_mha", "swin_like", "std_conv", "timm_convs",
                                  "weight_norm", "conv1d", "conv3d", "unet"])
def test_backward_flops_match_flop_counter(name):
    """Equal to FlopCounterMode on backward, but for fused attention: its backward recomputes the
    scores Q K^T (torch's ``sdpa_backward_flop_count``: five products, as FlopCounterMode counts
    the flash kernel on CUDA), where the meta device's math path keeps them (four)."""
    model = meta_model(name).train()
    size = ZOO[name][1]
    s = analysis.summarize(model, size, training=True)
    recompute = 0
    for m in model.modules():
        if isinstance(m, (Attention, nn.MultiheadAttention)):
            b, n = size[0], (size[2] // model.patch_embed.stride[0]) ** 2 + 1
            dim = m.proj.in_features if isinstance(m, Attention) else m.embed_dim
            recompute += 2 * b * n * n * dim
    assert s.backward_flops == flop_counter(model, size, backward=True) + recompute
    assert (recompute > 0) == name.startswith("vit")


def test_convnext_backward_corrects_the_depthwise_weight_gradient():
    """ConvNeXt's 7x7 depthwise convolutions: FlopCounterMode counts their weight gradient
    ``groups = C`` times; everything else agrees."""
    model = convnext(depths=(1, 1, 1, 1), dims=(8, 16, 32, 64), classes=10).train()
    size = (1, 3, 64, 64)
    s = analysis.summarize(model, size)
    over = sum(2 * (m.groups - 1) * r.macs for r, m in _rows_with_modules(s, model)
               if isinstance(m, nn.Conv2d) and m.groups > 1)
    assert over > 0
    assert flop_counter(model.to("meta"), size, backward=True) == s.backward_flops + over


def _rows_with_modules(s, model):
    modules = {n or type(m).__name__: m for n, m in model.named_modules()}
    return [(r, modules[r.name]) for r in s.rows]


# ---------------------------------------------------------------------------------------------
# Attribution: ops shown where they run
# ---------------------------------------------------------------------------------------------


def test_attention_is_attributed_to_the_module_that_runs_it():
    model = ViT(image=32, patch=8, dim=64, depth=1, heads=4).eval()
    s = analysis.summarize(model, (2, 3, 32, 32))
    attn = next(r for r in s.rows if r.type == "Attention")
    n, d = 17, 64                       # 16 patches + class token
    assert attn.macs == 2 * 2 * n * n * d            # Q K^T and A V, batch 2, all heads
    assert attn.ops == {"_scaled_dot_product_flash_attention_for_cpu": 1}
    assert attn.backward_macs == 5 * attn.macs // 2        # scores recomputed, 4 gradients
    assert "softmax" in attn.other_by_kind
    qkv = next(r for r in s.rows if r.name.endswith("attn.qkv"))
    assert qkv.macs == 2 * n * d * 3 * d and qkv.type == "Linear"
    # the residual additions and the position embedding, issued by Block and ViT themselves
    assert any(r.type == "Block" and r.other_by_kind.get("elementwise") for r in s.rows)
    root = next(r for r in s.rows if r.type == "ViT")
    assert root.params == 64 + n * 64    # class token and position embedding
    mha = analysis.summarize(ViT(image=32, patch=8, dim=64, depth=1, heads=4, block=MHABlock),
                             (2, 3, 32, 32))
    row = next(r for r in mha.rows if r.type == "MultiheadAttention")
    # in-projection (3 n d^2), attention (2 n^2 d), out-projection (n d^2), batch 2
    assert row.macs == 2 * (4 * n * d * d + 2 * n * n * d)
    assert row.params == 4 * d * d + 4 * d


def test_subclasses_and_parametrized_layers_are_costed_by_what_they_run():
    model = timm_convs().eval()
    s = analysis.summarize(model, (2, 3, 16, 16))
    assert s.flops == flop_counter(model.to("meta"), (2, 3, 16, 16))
    std, same, wn = s.rows[0], next(r for r in s.rows if r.type == "Conv2dSame"), \
        next(r for r in s.rows if r.type == "ParametrizedConv2d")
    assert std.macs == 2 * 16 * 3 * 9 * 16 * 16 and std.ops["convolution"] == 1
    assert std.other_by_kind["batch norm"] == 2 * 16 * 27           # the standardized weight
    assert same.macs == 2 * 32 * 16 * 9 * 8 * 8
    assert wn.macs == 2 * 32 * 32 * 9 * 8 * 8 and wn.params == 32 * 32 * 9 + 32 + 32
    # BatchNormAct2d keeps its activation (a row of its own, SiLU) and its batch norm
    bnact = [r for r in s.rows if r.type == "BatchNormAct2d"]
    assert len(bnact) == 2 and bnact[0].other_by_kind == {"batch norm": 2 * 2 * 16 * 16 * 16}
    assert sum(r.type == "SiLU" for r in s.rows) == 2


def test_functional_convolution_and_matmul_are_counted():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(8, 3, 3, 3))
            self.m = nn.Parameter(torch.randn(8, 5))

        def forward(self, x):
            y = TF.conv2d(x, self.w, padding=1)
            return torch.einsum("bchw,cd->bdhw", y, self.m)
    s = analysis.summarize(Functional(), (2, 3, 6, 6))
    assert s.macs == 2 * 8 * 27 * 36 + 2 * 36 * 8 * 5
    assert s.flops == flop_counter(Functional().to("meta"), (2, 3, 6, 6))
    assert len(s.rows) == 1 and s.rows[0].params == 8 * 27 + 40


def test_ops_without_a_rule_are_listed_not_dropped():
    class Odd(nn.Module):
        def forward(self, x):
            return torch.cumsum(x, 1) + torch.linalg.cross(x[:, :3], x[:, 3:6], dim=1).sum()
    s = analysis.summarize(Odd(), (2, 6, 4))
    assert "linalg_cross" in s.uncosted_ops and s.uncosted_ops["linalg_cross"] == 1
    assert "linalg_cross" in s.totals_line()
    assert s.rows[0].other_by_kind["reduction"] >= 2 * 6 * 4


def test_shared_parameters_count_once():
    model = TiedHead()
    s = analysis.summarize(model, (2, 50, 12))
    unique = sum(p.numel() for p in model.parameters())
    assert s.params == unique
    assert unique < sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False))
    assert sum(r.params for r in s.rows) == unique


def test_unbatched_input_is_costed_as_torch_runs_it():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3))
    batched = analysis.summarize(model, (1, 3, 16, 16))
    single = analysis.summarize(model, (3, 16, 16))
    assert single.unbatched and not batched.unbatched and single.batch == 1
    assert (single.macs, single.other_ops, single.saved_activation_bytes) == \
        (batched.macs, batched.other_ops, batched.saved_activation_bytes)
    with FlopCounterMode(display=False) as c:
        model(torch.randn(3, 16, 16))
    assert single.flops == c.get_total_flops()
    assert single.training_memory(4)["activations"] == 4 * single.saved_activation_bytes


# ---------------------------------------------------------------------------------------------
# Any dtype, any model
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_trace_runs_in_the_model_dtype(dtype):
    model = meta_model("vit_like").to(dtype)
    s = analysis.summarize(model, (2, 3, 64, 64))
    s32 = analysis.summarize(meta_model("vit_like"), (2, 3, 64, 64))
    assert s.dtype == str(dtype).split(".")[1] and s32.dtype == "float32"
    assert s.flops == s32.flops
    # half the bytes, apart from the float32 logsumexp the fused attention keeps
    assert 0.5 < s.saved_activation_bytes / s32.saved_activation_bytes < 0.52
    assert s.training_memory()["weights"] == 2 * s.params
    conv = nn.Conv2d(3, 4, 3).to(dtype)
    x = torch.randn(1, 3, 8, 8, dtype=dtype, requires_grad=True)
    real = autograd_saved_bytes(conv, x)
    assert analysis.summarize(conv, (1, 3, 8, 8), device="cpu",
                              input_requires_grad=True).saved_activation_bytes == real == 2 * 192


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_memory_matches_autograd(dtype):
    """Batch norm keeps its statistics in the weights' dtype on the CPU; the trace does too."""
    model = UNet(c=8).to(dtype).train()
    real = autograd_saved_bytes(model, torch.randn(1, 3, 32, 32, dtype=dtype))
    assert analysis.summarize(model, (1, 3, 32, 32), training=True).saved_activation_bytes == real


def test_dtype_argument_casts_the_trace():
    s = analysis.summarize(nn.Conv2d(3, 4, 3), (1, 3, 8, 8), dtype="bfloat16")
    assert s.dtype == "bfloat16" and s.rows[0].activation_bytes == 2 * 4 * 36
    assert s.saved_activation_bytes == 2 * 3 * 64


def test_data_dependent_model_needs_a_real_trace():
    model = DetectionHead().eval()
    with pytest.raises(RuntimeError, match="(?s)meta device.*nonzero.*device='cpu'"):
        analysis.summarize(model, (1, 3, 64, 64))
    s = analysis.summarize(model, (1, 3, 64, 64), device="cpu")
    assert s.device == "cpu"
    with FlopCounterMode(display=False) as c:
        model(torch.randn(1, 3, 64, 64))
    assert s.flops == c.get_total_flops() and s.params == sum(p.numel() for p in model.parameters())
    assert "nonzero" in s.rows[-1].ops or any("nonzero" in r.ops for r in s.rows)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))   # the trace's input
    assert analysis.summarize(model, (1, 3, 64, 64), device="cpu",
                              training=True).saved_activation_bytes \
        == autograd_saved_bytes(model.train(), x)
    model.eval()
    # a model built on the meta device is given random weights for the real trace
    s2 = analysis.summarize(meta_model("detection_head"), (1, 3, 64, 64), device="cpu")
    assert s2.flops == s.flops


def test_real_trace_agrees_with_the_meta_trace():
    model = UNet(c=8)
    meta = analysis.summarize(model, (1, 3, 32, 32), training=True)
    real = analysis.summarize(model, (1, 3, 32, 32), training=True, device="cpu")
    assert (meta.params, meta.flops, meta.backward_flops, meta.other_ops,
            meta.saved_activation_bytes) == (real.params, real.flops, real.backward_flops,
                                             real.other_ops, real.saved_activation_bytes)


# ---------------------------------------------------------------------------------------------
# Memory as autograd keeps it
# ---------------------------------------------------------------------------------------------

MEMORY = {
    "resnet50": (lambda: architectures.build("resnet50"), (1, 3, 64, 64)),
    "mobilenet_v2": (lambda: architectures.build("mobilenet_v2"), (1, 3, 64, 64)),
    "efficientnet_b0": (lambda: architectures.build("efficientnet_b0"), (1, 3, 64, 64)),
    "convnext_tiny_like": (convnext, (1, 3, 64, 64)),
    "vit_like": (lambda: ViT(image=64, patch=8, dim=192, depth=4, heads=3), (2, 3, 64, 64)),
    "vit_mha": (lambda: ViT(image=32, patch=4, dim=64, depth=2, heads=4, block=MHABlock),
                (2, 3, 32, 32)),
    "swin_like": (Swin, (2, 3, 32, 32)),
    "timm_convs": (timm_convs, (2, 3, 32, 32)),
    "unet": (UNet, (1, 3, 64, 64)),
    "conv3d": (conv3d_net, (2, 3, 8, 32, 32)),
}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(MEMORY))
def test_saved_activations_match_autograd(name, training):
    """Within 2% of the saved-tensor hooks on a real CPU forward pass (in fact equal)."""
    torch.manual_seed(0)
    build, size = MEMORY[name]
    model = build().train(training)
    real = autograd_saved_bytes(model, torch.randn(size))
    s = analysis.summarize(model, size, training=training)
    assert abs(s.saved_activation_bytes / real - 1) <= 0.02, (s.saved_activation_bytes, real)
    assert s.saved_activation_bytes == real
    assert sum(r.saved_bytes for r in s.rows) <= s.saved_activation_bytes


def test_multi_head_attention_fast_path_is_costed():
    """Frozen weights in evaluation mode: ``nn.MultiheadAttention`` runs its fused inference op
    (``_native_multi_head_attention``) on the CPU, which FlopCounterMode does not know; the
    library counts the same MACs as for the unfused path traced on the meta device."""
    model = ViT(image=32, patch=8, dim=64, depth=1, heads=4, block=MHABlock).eval()
    model.requires_grad_(False)
    meta = analysis.summarize(model, (2, 3, 32, 32))
    real = analysis.summarize(model, (2, 3, 32, 32), device="cpu")
    row = next(r for r in real.rows if r.type == "MultiheadAttention")
    assert row.ops == {"_native_multi_head_attention": 1}
    assert real.flops == meta.flops and real.backward_flops == 0 == meta.backward_flops
    assert row.other_by_kind["bias add"] == 2 * 64 * 4 * 17


# ---------------------------------------------------------------------------------------------
# Property: random convolutional stacks
# ---------------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@st.composite
def conv_stacks(draw):
    """A random stack of convolutions (any kernel, stride, padding, dilation, groups, bias),
    batch norms, activations (some in place) and poolings, and an input it accepts."""
    c = draw(st.sampled_from([2, 4, 6]))
    n = draw(st.integers(12, 20))
    layers, size = [], n
    for _ in range(draw(st.integers(1, 4))):
        k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
        p = draw(st.integers(0, k // 2 * d))
        g = draw(st.sampled_from([g for g in (1, 2, c) if c % g == 0]))
        out = draw(st.sampled_from([g * m for m in (1, 2, 3)]))
        if (size + 2 * p - d * (k - 1) - 1) // s + 1 < 2:
            break
        transposed = draw(st.booleans()) and d == 1 and p < k
        if transposed:
            layers.append(nn.ConvTranspose2d(c, out, k, s, p, groups=g, bias=draw(st.booleans())))
            size = (size - 1) * s - 2 * p + k
        else:
            layers.append(nn.Conv2d(c, out, k, s, p, d, g, bias=draw(st.booleans())))
            size = (size + 2 * p - d * (k - 1) - 1) // s + 1
        c = out
        if draw(st.booleans()):
            layers.append(nn.BatchNorm2d(c))
        act = draw(st.sampled_from([nn.ReLU, nn.SiLU, nn.Hardswish, nn.GELU, nn.Sigmoid]))
        layers.append(act(inplace=True) if act in (nn.ReLU, nn.SiLU, nn.Hardswish)
                      and draw(st.booleans()) else act())
        if size >= 4 and draw(st.booleans()):
            layers.append(draw(st.sampled_from([nn.MaxPool2d(2), nn.AvgPool2d(2)])))
            size //= 2
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 3)]
    first = layers[0].in_channels if isinstance(layers[0], (nn.Conv2d, nn.ConvTranspose2d)) else c
    return nn.Sequential(*layers), (draw(st.integers(1, 3)), first, n, n)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_stacks(), st.booleans())
def test_random_stacks_match_the_oracles(stack, training):
    model, size = stack
    model.train(training)
    s = analysis.summarize(model, size, training=training)
    x = torch.randn(size)
    assert s.params == sum(p.numel() for p in model.parameters())
    with FlopCounterMode(display=False) as c:
        model(x)
    assert s.flops == c.get_total_flops()
    assert s.saved_activation_bytes == autograd_saved_bytes(model, x)
    assert not s.uncosted_ops


def test_attention_function_is_restored_after_a_trace():
    original = TF.scaled_dot_product_attention
    analysis.summarize(ViT(depth=1), (1, 3, 32, 32))
    with pytest.raises(RuntimeError):
        analysis.summarize(ViT(depth=1), (1, 3, 16, 16))        # position embedding mismatch
    assert TF.scaled_dot_product_attention is original


@pytest.mark.parametrize("build,size", [
    (lambda: nn.LSTM(16, 32, 2, batch_first=True), (2, 10, 16)),
    (lambda: nn.GRU(16, 32, batch_first=True), (2, 10, 16)),
    (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4, 128, batch_first=True), 2,
                                   enable_nested_tensor=False), (2, 10, 64)),
], ids=["lstm", "gru", "transformer_encoder"])
def test_recurrent_and_transformer_modules(build, size):
    """torch's own RNN and transformer modules: FLOPs as FlopCounterMode counts them, every op
    costed, and (but for the LSTM, whose CPU kernel keeps a oneDNN workspace that the meta device
    does not model) the bytes autograd keeps."""
    torch.manual_seed(0)
    model = build()
    s = analysis.summarize(model, size, training=True)
    with torch.device("meta"):
        torch.manual_seed(0)
        meta = build()
    assert s.flops == flop_counter(meta, size) and not s.uncosted_ops
    if not isinstance(model, nn.LSTM):
        assert s.saved_activation_bytes == autograd_saved_bytes(model.train(), torch.randn(size))
    else:      # on the CPU the fused oneDNN layer runs: listed by name, not dropped
        assert "mkldnn_rnn_layer" in analysis.summarize(model, size, device="cpu").uncosted_ops


#: Published figures of torchvision's models (torchvision 0.20 documentation, "Table of all
#: available classification weights": parameters and "GFLOPS", which are GMACs at 224 x 224).
TORCHVISION_PUBLISHED = {
    "vit_b_16": (86_567_656, 17.56),
    "convnext_tiny": (28_589_128, 4.46),
}


@pytest.mark.parametrize("name", list(TORCHVISION_PUBLISHED))
def test_faithful_models_match_torchvision_published_figures(name):
    """ViT-B/16 and ConvNeXt-T built from the classes above have torchvision's parameter count
    and its GMACs to the two decimals it prints, attention included."""
    with torch.device("meta"):
        model = (ViT(image=224, patch=16, dim=768, depth=12, heads=12, classes=1000, block=MHABlock)
                 if name == "vit_b_16" else convnext())
    s = analysis.summarize(model, (1, 3, 224, 224))
    params, gmacs = TORCHVISION_PUBLISHED[name]
    assert s.params == params
    assert round(s.macs / 1e9, 2) == gmacs
