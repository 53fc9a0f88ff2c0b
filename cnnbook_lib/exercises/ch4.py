"""Chapter 4 checks: architectures, read as per-layer tables (and the fill-in-the-table exercise)."""
from __future__ import annotations

import math
from typing import Callable

from .. import formulas as F
from ._core import Check, register

# ---------------------------------------------------------------------------------------------
# Chapter 4: architectures, read as per-layer tables
# ---------------------------------------------------------------------------------------------

#: The columns of a per-layer table that an exercise may blank.
TABLE_COLUMNS = ("volume", "params", "macs", "activation_bytes")


def layer_table(name: str, input_size, **options):
    """The per-layer table of network ``name``: :func:`cnnbook_lib.analysis.layer_table` (imported
    when first called, so that the checks load without torch)."""
    from ..analysis import layer_table as table
    return table(name, input_size, **options)


#: The fill-in-the-table exercises: the network, how it is built, its input, the blanked cells.
FILL_IN_TABLES = {
    "alexnet": dict(name="alexnet", options={"variant": "paper"}, input_size=(1, 3, 227, 227),
                    blanks=(("conv1", "volume"), ("pool1", "volume"), ("conv2", "params"),
                            ("conv2", "macs"), ("conv3", "params"), ("fc1", "params"),
                            ("conv5", "activation_bytes"))),
    "vgg16": dict(name="vgg16", options={}, input_size=(1, 3, 224, 224),
                  blanks=(("conv2", "macs"), ("pool1", "volume"), ("conv13", "params"),
                          ("fc1", "params"), ("conv1", "activation_bytes"))),
}

_TABLES: dict = {}


def _fill_in_source(table_id: str):
    if table_id not in FILL_IN_TABLES:
        raise ValueError(f"unknown table {table_id!r}; valid: {', '.join(FILL_IN_TABLES)}")
    if table_id not in _TABLES:
        spec = FILL_IN_TABLES[table_id]
        _TABLES[table_id] = layer_table(spec["name"], spec["input_size"], **spec["options"])
    return _TABLES[table_id]


def fill_in_check_id(table_id: str, layer: str, column: str) -> str:
    """The id of the check of one blank cell, e.g. ``table-alexnet-conv2-params``."""
    return f"table-{table_id}-{layer}-{column.replace('_', '-')}"


def fill_in_table(table_id: str):
    """The per-layer table of exercise ``table_id`` (:data:`FILL_IN_TABLES`) with its blank
    cells shown as ``??? (a)``, ``??? (b)``, ...; ``attrs["blanks"]`` maps each letter to the id of
    the check that grades it (``check(id, answer)``)."""
    spec = FILL_IN_TABLES.get(table_id)
    table = _fill_in_source(table_id)
    shown = table.drop(columns=["module", "input"]).astype(object)
    for c in TABLE_COLUMNS:
        shown[c] = [f"{v:,}" for v in table[c]]
    blanks = {}
    position = {layer: i for i, layer in enumerate(table.layer)}
    ordered = sorted(spec["blanks"], key=lambda b: (position[b[0]], TABLE_COLUMNS.index(b[1])))
    for letter, (layer, column) in zip("abcdefghijklmnopqrstuvwxyz", ordered):
        shown.loc[shown.layer == layer, column] = f"??? ({letter})"
        blanks[letter] = fill_in_check_id(table_id, layer, column)
    shown.attrs.update(table.attrs, blanks=blanks)
    return shown


def _cell(table_id: str, layer: str, column: str):
    table = _fill_in_source(table_id)
    return int(table.loc[table.layer == layer, column].iloc[0])


def _row(table_id: str, layer: str) -> dict:
    table = _fill_in_source(table_id)
    return table.loc[table.layer == layer].iloc[0].to_dict()


def _previous(table_id: str, layer: str) -> dict:
    table = _fill_in_source(table_id)
    i = int((table.layer == layer).to_numpy().argmax())
    return table.iloc[i - 1].to_dict()


def _fill_in_mistakes(table_id: str, layer: str, column: str) -> dict[str, Callable[[], float]]:
    """Wrong answers that typical mistakes give for one cell, each computed by the formulas."""
    r = _row(table_id, layer)
    m, out, inp = r["module"], r["output"], r["input"]
    c_out, h_out = (int(x) for x in out.split("×")[:2]) if "×" in out else (int(out), 1)
    right = _cell(table_id, layer, column)
    mistakes: dict[str, Callable[[], float]] = {}
    kind = type(m).__name__
    if column == "volume":
        mistakes["the volume counts every channel: C x H x W, not H x W."] = lambda: right // c_out
        if kind == "Conv2d":
            k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
            hint = "you forgot the +1 of the output size, floor((n + 2p - k)/s) + 1."
            if table_id == "alexnet" and layer == "conv1":   # 224 - 11 and 227 - 11 floor alike
                hint = ("you forgot the +1 of the output size, floor((n + 2p - k)/s) + 1, or you "
                        f"used the paper's 224-pixel input; this layer gets {inp[-1]} pixels.")
            mistakes[hint] = lambda: c_out * ((inp[-1] + 2 * p - k) // s) ** 2
        if kind == "MaxPool2d":
            k, s = m.kernel_size, m.stride
            other = F.pool_output_size(inp[-1], k, s, m.padding, not m.ceil_mode)
            if other != h_out:
                mistakes[f"this pooling rounds {'up' if m.ceil_mode else 'down'} "
                         f"(ceil_mode={m.ceil_mode})."] = lambda: c_out * other ** 2
            if k != s:
                mistakes[f"the windows overlap: the stride is {s}, not the window {k}."] = (
                    lambda: c_out * F.pool_output_size(inp[-1], k, k) ** 2)
            mistakes["that is the pooling's input; the row gives its output."] = (
                lambda: math.prod(inp))
    elif column == "params" and kind == "Conv2d":
        ci, co, k, g = m.in_channels, m.out_channels, m.kernel_size[0], m.groups
        mistakes["you left out the biases (one per output channel)."] = (
            lambda: F.conv_params(ci, co, k, g, bias=False))
        if g > 1:
            mistakes[f"this layer is grouped ({g} groups, one per GPU): each filter sees "
                     f"C_in/{g} channels."] = lambda: F.conv_params(ci, co, k)
        else:
            mistakes["each filter sees all the input channels: multiply by C_in."] = (
                lambda: F.conv_params(1, co, k))
            if table_id == "alexnet":
                mistakes["this layer is not grouped: conv3 sees the maps of both GPUs."] = (
                    lambda: F.conv_params(ci, co, k, 2))
    elif column == "params":
        fi, fo = m.in_features, m.out_features
        mistakes["you left out the biases (one per output unit)."] = (
            lambda: F.linear_params(fi, fo, bias=False))
        prev = _previous(table_id, layer)
        if prev["layer"].startswith("pool"):
            before = _previous(table_id, prev["layer"])["volume"]
            mistakes["the dense layer reads the pooled maps, not the maps before pooling."] = (
                lambda: F.linear_params(before, fo))
    elif column == "macs":
        ci, co, k, g = m.in_channels, m.out_channels, m.kernel_size[0], m.groups
        if g == 2:      # forgetting the two groups and counting FLOPs both double the MACs
            mistakes["that is twice the MACs: either you counted FLOPs (one MAC is two FLOPs) "
                     "or you ignored the grouping (2 groups: each filter sees C_in/2 "
                     "channels)."] = lambda: F.macs_to_flops(right)
        else:
            mistakes["that is the FLOP count: one MAC is two FLOPs."] = (
                lambda: F.macs_to_flops(right))
            if g > 1:
                mistakes[f"this layer is grouped ({g} groups): each filter sees C_in/{g} "
                         "channels."] = lambda: F.conv_macs(ci, co, k, h_out)
        mistakes["each output value is a dot product over (C_in/G) k^2 inputs: multiply by "
                 "C_in/G too."] = lambda: F.conv_macs(g, co, k, h_out, g)
        mistakes["bias additions are not multiply-accumulates: leave them out."] = (
            lambda: right + F.conv_bias_adds(co, h_out))
        if inp[-1] != h_out:
            mistakes["count one dot product per output position, not per input position."] = (
                lambda: F.conv_macs(ci, co, k, inp[-1], g))
    elif column == "activation_bytes":
        mistakes["that is the number of elements: float32 takes 4 bytes each."] = (
            lambda: _cell(table_id, layer, "volume"))
        mistakes["that is the layer's input; the row gives its output."] = (
            lambda: F.tensor_bytes(math.prod(inp), "float32"))
    return mistakes


class _LazyMistakes(dict):
    """The mistakes of one blank cell, computed on first use (tracing the network then, not when
    the module is imported)."""

    def __init__(self, table_id: str, layer: str, column: str):
        super().__init__()
        self._key, self._filled = (table_id, layer, column), False

    def _fill(self) -> None:
        if not self._filled:
            self._filled = True
            self.update(_fill_in_mistakes(*self._key))

    def items(self):
        self._fill()
        return super().items()

    def values(self):
        self._fill()
        return super().values()

    def keys(self):
        self._fill()
        return super().keys()

    def __iter__(self):
        self._fill()
        return super().__iter__()

    def __len__(self):
        self._fill()
        return super().__len__()

    def __getitem__(self, key):
        self._fill()
        return super().__getitem__(key)

    def __contains__(self, key):
        self._fill()
        return super().__contains__(key)


_COLUMN_WORDS = {"volume": "output volume (elements per image)", "params": "parameters",
                 "macs": "multiply-accumulates per image", "activation_bytes":
                 "bytes of the float32 output per image"}

for _table_id, _spec in FILL_IN_TABLES.items():
    for _layer, _column in _spec["blanks"]:
        register(Check(
            id=fill_in_check_id(_table_id, _layer, _column), chapter=4, difficulty="medium",
            question=f"The {_COLUMN_WORDS[_column]} of layer {_layer} of {_table_id} "
                     f"(cnnbook_lib.exercises.fill_in_table({_table_id!r})).",
            answer=lambda t=_table_id, l=_layer, c=_column: _cell(t, l, c),
            mistakes=_LazyMistakes(_table_id, _layer, _column)))


def _lenet5_c3_params(full: bool = False, bias: bool = True) -> int:
    from ..architectures import LENET5_C3_TABLE
    if full:
        return F.conv_params(6, len(LENET5_C3_TABLE), 5, bias=bias)
    return sum(F.conv_params(len(inputs), 1, 5, bias=bias) for inputs in LENET5_C3_TABLE)


register(Check(
    id="lenet5-c3-params-1", chapter=4, difficulty="easy",
    question="Trainable parameters of LeNet-5's C3: 16 maps of 5x5 filters, each map connected to "
             "the S2 maps of Table I of LeCun et al. (1998), one bias per map.",
    answer=_lenet5_c3_params,
    mistakes={
        "that is a full C3 (every map sees all six S2 maps), the modern variant; the paper's "
        "Table I connects each map to only 3, 4 or 6 of them.": lambda: _lenet5_c3_params(True),
        "you left out the 16 biases.": lambda: _lenet5_c3_params(bias=False),
    },
))


def _alexnet_neurons(with_input: bool = False, with_pools: bool = False) -> int:
    if "alexnet-torchvision" not in _TABLES:
        _TABLES["alexnet-torchvision"] = layer_table("alexnet", (1, 3, 224, 224))
    table = _TABLES["alexnet-torchvision"]
    kinds = ("conv", "fc", "pool") if with_pools else ("conv", "fc")
    n = int(table.loc[table.layer.str.rstrip("0123456789").isin(kinds), "volume"].sum())
    return n + (3 * 224 * 224 if with_input else 0)


register(Check(
    id="alexnet-neurons-1", chapter=4, difficulty="medium",
    question="Neurons of torchvision's single-GPU AlexNet on a 224x224 input: the outputs of its "
             "five convolutional and three dense layers, per image.",
    answer=_alexnet_neurons,
    mistakes={
        "the input pixels are not neurons: leave the image out.":
            lambda: _alexnet_neurons(with_input=True),
        "pooling outputs are not counted as neurons (the paper counts the layers with weights).":
            lambda: _alexnet_neurons(with_pools=True),
    },
))


def _vgg16_shares(kind: str = "params") -> dict[str, float]:
    table = _fill_in_source("vgg16")
    fc = table.loc[table.layer.str.startswith("fc"), kind]
    total = table.attrs[kind]
    return {"head": 100 * fc.sum() / total, "fc1": 100 * fc.iloc[0] / total}


register(Check(
    id="vgg16-head-share-1", chapter=4, difficulty="easy", unit="%",
    question="Share of VGG-16's parameters in its three dense layers, in percent.",
    answer=lambda: _vgg16_shares()["head"], rel_tol=0.002,
    mistakes={
        "answer in percent, not as a fraction.": lambda: _vgg16_shares()["head"] / 100,
        "that is the first dense layer alone; the head has three.": lambda: _vgg16_shares()["fc1"],
        "that is the head's share of the MACs, not of the parameters.":
            lambda: _vgg16_shares("macs")["head"],
    },
))




def _resnet50_stage_shares(kind: str = "params", variant: str = "torchvision",
                           with_head: bool = False, without_head_total: bool = False) -> float:
    """Share (percent) of ResNet-50's parameters or MACs in its last stage (conv5_x)."""
    key = f"resnet50-{variant}"
    if key not in _TABLES:
        _TABLES[key] = layer_table("resnet50", (1, 3, 224, 224), variant=variant)
    table = _TABLES[key]
    stage = table.path.str.split(".").str[0]
    head = table.layer.str.startswith("fc")
    part = table.loc[(stage == "5") | (head & with_head), kind].sum()
    total = table[kind].sum() - (table.loc[head, kind].sum() if without_head_total else 0)
    return float(100 * part / total)


register(Check(
    id="resnet50-conv5-params-share-1", chapter=4, difficulty="medium", unit="%",
    question="Share of ResNet-50's parameters (torchvision's layout) in its last stage, conv5_x "
             "(the three bottleneck blocks on 7x7 maps, with their batch normalization and "
             "projection shortcut), in percent of the whole network's.",
    answer=_resnet50_stage_shares, rel_tol=0.002,
    mistakes={
        "answer in percent, not as a fraction.": lambda: _resnet50_stage_shares() / 100,
        "that is the stage's share of the MACs, not of the parameters.":
            lambda: _resnet50_stage_shares("macs"),
        "the dense classifier is not part of conv5_x.":
            lambda: _resnet50_stage_shares(with_head=True),
        "divide by all the network's parameters, the dense classifier's included.":
            lambda: _resnet50_stage_shares(without_head_total=True),
    },
))

register(Check(
    id="resnet50-conv5-macs-share-1", chapter=4, difficulty="medium", unit="%",
    question="Share of ResNet-50's MACs per 224x224 image (torchvision's layout) performed in "
             "its last stage, conv5_x, in percent of the whole network's.",
    answer=lambda: _resnet50_stage_shares("macs"), rel_tol=0.002,
    mistakes={
        "answer in percent, not as a fraction.": lambda: _resnet50_stage_shares("macs") / 100,
        "that is the stage's share of the parameters, not of the MACs.":
            lambda: _resnet50_stage_shares(),
        "that is the paper's layout (stride in the first 1x1); the question is about "
        "torchvision's (stride in the 3x3).": lambda: _resnet50_stage_shares("macs", "paper"),
    },
))


def _efficientnet_phi(coefficient: str = "width", base: str = "beta") -> float:
    """The exponent phi that EfficientNet-B7's released width (or depth) corresponds to."""
    from ..architectures import EFFICIENTNET_SCALING
    width, depth, _, _ = EFFICIENTNET_SCALING["b7"]
    bases = {"alpha": 1.2, "beta": 1.1, "beta2": 1.1 ** 2}
    value = width if coefficient == "width" else depth
    return math.log(value) / math.log(bases[base])


register(Check(
    id="efficientnet-b7-phi-width-1", chapter=4, difficulty="easy",
    question="EfficientNet-B7 multiplies B0's channels by w = 2.0. Compound scaling sets the "
             "width to beta^phi with beta = 1.1 (depth alpha^phi with alpha = 1.2). Which phi "
             "does B7's width correspond to?",
    answer=_efficientnet_phi, rel_tol=0.005,
    mistakes={
        "1.2 is the depth's base alpha; the width's is beta = 1.1.":
            lambda: _efficientnet_phi(base="alpha"),
        "that is the phi of B7's depth coefficient (3.1), not of its width.":
            lambda: _efficientnet_phi("depth"),
        "beta^2 enters the constraint on the MACs; the width itself is beta^phi.":
            lambda: _efficientnet_phi(base="beta2"),
        "phi is an exponent: solve beta^phi = w with logarithms, phi = ln w / ln beta.":
            lambda: 2.0 / 1.1,
    },
))


#: The budget of the network-choice exercise: latency of one image in the book's CPU record, and
#: the memory of a training step at batch 32 with Adam in float32.
PICK_LATENCY_MS, PICK_MEMORY_GIB, PICK_BATCH = 60, 2.5, 32


def pick_candidates() -> list[dict]:
    """The training-memory calculator's networks with their recorded latency (one image, ms),
    training memory (GiB, batch 32, Adam, float32, the library's formula) and top-1 accuracy."""
    from .. import published
    from ..bench.latency import load_latency
    from ..interactives.memory import NETWORKS, network_memory
    lat = {(r["name"], r["batch"]): r["median_s"] for r in load_latency("cpu")["rows"]}
    rows = []
    for name in NETWORKS:
        m = network_memory(name)
        weights = F.tensor_bytes(m["params"], "float32")
        state = F.optimizer_state_bytes(m["params"], "adam", "float32")
        acts = PICK_BATCH * (F.tensor_bytes(m["float_saved"], "float32") + m["other_saved"])
        rows.append(dict(name=name, latency_ms=1e3 * lat[(name, 1)],
                         memory_gib=(2 * weights + state + acts) / 2 ** 30,
                         top1=published.top1(name)))
    return rows


def _pick_top1(latency: bool = True, memory: bool = True) -> float:
    ok = [r for r in pick_candidates()
          if (not latency or r["latency_ms"] <= PICK_LATENCY_MS)
          and (not memory or r["memory_gib"] <= PICK_MEMORY_GIB)]
    return max(r["top1"] for r in ok)


register(Check(
    id="network-under-budget-1", chapter=4, difficulty="medium",
    question=f"Of the training-memory calculator's networks, which one is the most accurate "
             f"(torchvision top-1) among those whose recorded CPU latency for one image is at "
             f"most {PICK_LATENCY_MS} ms and whose training step at batch {PICK_BATCH} with "
             f"Adam in float32 needs at most {PICK_MEMORY_GIB} GiB? Answer with its top-1 "
             f"accuracy in percent.",
    answer=_pick_top1, rel_tol=1e-4, unit="%",
    mistakes={
        "that network is fast enough, but its training step at batch 32 needs more than the "
        "memory budget: the saved activations of all 32 images count, and so do the gradients "
        "and Adam's two moments per parameter.":
            lambda: _pick_top1(memory=False),
        "that is the most accurate network of the list, which meets neither budget.":
            lambda: _pick_top1(latency=False, memory=False),
    },
))


# ---------------------------------------------------------------------------------------------
# GoogLeNet, DenseNet, ConvNeXt, ViT
# ---------------------------------------------------------------------------------------------

def _googlenet_3a_3x3_macs(reduced: bool = False, per_pixel: bool = False) -> int:
    """MACs of inception 3a's 3x3 convolution on its 28x28 map, fed straight from the module's
    input (192 channels) or, ``reduced``, from its 1x1 reduction (96 channels)."""
    from ..architectures import GOOGLENET_STAGES
    specs = {name: rest for stage in GOOGLENET_STAGES for name, *rest in stage}
    c_in, _, c3r, c3, _, _, _ = specs["3a"]
    source = c3r if reduced else c_in
    return F.conv_macs(source, c3, 3, 1 if per_pixel else 28)


register(Check(
    id="googlenet-3a-unreduced-macs-1", chapter=4, difficulty="easy",
    question="GoogLeNet's module 3a receives 192 channels on a 28x28 map; its 3x3 branch outputs "
             "128 channels after a 1x1 reduction to 96. How many MACs would that 3x3 convolution "
             "perform per image without the reduction, straight from the 192 input channels "
             "(no bias)? Give the exact integer.",
    answer=_googlenet_3a_3x3_macs,
    mistakes={
        "that is the 3x3 convolution after the reduction (96 channels in), the module as built.":
            lambda: _googlenet_3a_3x3_macs(reduced=True),
        "that is per output position: multiply by the 28 x 28 positions of the map.":
            lambda: _googlenet_3a_3x3_macs(per_pixel=True),
    },
))


def _densenet_block1_input(layer: int = 6, output: bool = False) -> int:
    """Channels the ``layer``-th dense layer of DenseNet-121's first block receives (or, with
    ``output``, the block's output), read from the library's network."""
    import torch

    from ..architectures import DenseBlock, build
    with torch.device("meta"):
        model = build("densenet121")
    block = next(m for m in model.modules() if isinstance(m, DenseBlock))
    if output:
        return block.layers[-1].norm1.num_features + block.layers[-1].conv2.out_channels
    return block.layers[layer - 1].norm1.num_features


register(Check(
    id="densenet121-block1-last-input-1", chapter=4, difficulty="easy",
    question="DenseNet-121's first dense block receives 64 channels and has six layers, each "
             "adding 32 channels (the growth rate) to everything before it. How many channels "
             "does its sixth and last layer receive?",
    answer=_densenet_block1_input,
    mistakes={
        "that is the block's output, which includes the last layer's own 32 channels.":
            lambda: _densenet_block1_input(output=True),
        "the layer receives the block's input too, not only the earlier layers' outputs.":
            lambda: _densenet_block1_input() - 64,
    },
))


def _convnext_block_params(layer_scale: bool = True, depthwise: bool = True) -> int:
    """Parameters of one ConvNeXt-T block of the first stage (96 channels), from the library's
    network: 7x7 depthwise convolution, LayerNorm, 1x1 up to 384 and back, layer scale; or of
    the same block with a dense 7x7 convolution (``depthwise=False``), or without layer scale."""
    import torch

    from ..architectures import ConvNeXtBlock, build
    with torch.device("meta"):
        model = build("convnext_tiny")
    block = next(m for m in model.modules() if isinstance(m, ConvNeXtBlock))
    total = sum(p.numel() for p in block.parameters())
    c = 96
    if not layer_scale:
        total -= c
    if not depthwise:
        total += c * c * 49 - c * 49
    return total


register(Check(
    id="convnext-block-params-1", chapter=4, difficulty="medium",
    question="How many parameters does one block of ConvNeXt-T's first stage (96 channels) "
             "have: a 7x7 depthwise convolution with bias, a LayerNorm, a 1x1 expansion to 384 "
             "channels and a 1x1 projection back, both with bias, and a layer-scale vector?",
    answer=_convnext_block_params,
    mistakes={
        "the layer scale is a learned vector of 96 values: count it.":
            lambda: _convnext_block_params(layer_scale=False),
        "the 7x7 convolution is depthwise: 49 weights per channel, not 49 x 96.":
            lambda: _convnext_block_params(depthwise=False),
    },
))


def _vit_tokens(side: int = 384, class_token: bool = True) -> int:
    """Tokens ViT-B/16 attends over at ``side`` x ``side`` pixels: 16 x 16 patches, plus the
    class token."""
    return (side // 16) ** 2 + int(class_token)


register(Check(
    id="vit-b16-tokens-384-1", chapter=4, difficulty="easy",
    question="ViT-B/16 cuts an image into 16x16-pixel patches and adds one class token. How many "
             "tokens does it attend over at 384x384 pixels, the resolution it is fine-tuned at?",
    answer=_vit_tokens,
    mistakes={
        "add the class token to the patches.": lambda: _vit_tokens(class_token=False),
        "that is the count at 224 pixels.": lambda: _vit_tokens(224),
        "a patch is 16 x 16 pixels: 384 / 16 = 24 patches per side, squared.":
            lambda: 384 // 16 + 1,
    },
))
