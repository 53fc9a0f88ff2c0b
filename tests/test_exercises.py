"""Exercise checks: right answers agree with torch, every listed mistake is caught with its hint,
and no mistake coincides with the right answer (which would make a hint unreachable)."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import exercises
from cnnbook_lib.exercises import CHECKS, check, list_checks


@pytest.mark.parametrize("exercise_id", sorted(CHECKS))
def test_right_answer_passes_and_mistakes_get_their_hint(exercise_id):
    c = CHECKS[exercise_id]
    right = c.expected()
    assert check(exercise_id, right).correct
    wrongs = [wrong() for wrong in c.mistakes.values()]
    assert len(set(wrongs)) == len(wrongs), "two mistakes give the same value"
    for (hint, _), wrong in zip(c.mistakes.items(), wrongs):
        assert wrong != right, f"mistake '{hint}' equals the right answer"
        result = check(exercise_id, wrong)
        assert not result.correct and hint in result.message
    assert not check(exercise_id, right + 12345).correct


def test_answers_agree_with_torch():
    conv = torch.nn.Conv2d(64, 128, 3, padding=1)
    assert check("conv-params-1", sum(p.numel() for p in conv.parameters()))
    x = torch.empty(32, 64, 56, 56, device="meta")
    with FlopCounterMode(display=False) as counter:
        conv.to("meta")(x)
    assert check("conv-macs-1", counter.get_total_flops() // 2)
    y = torch.nn.functional.conv2d(torch.empty(1, 3, 227, 227, device="meta"),
                                   torch.empty(96, 3, 11, 11, device="meta"), stride=4)
    assert check("conv-out-size-1", y.shape[-1])


def test_bad_input():
    assert not check("conv-params-1", "many")
    assert "number" in str(check("conv-params-1", None))
    assert not check("conv-params-1", float("nan"))
    with pytest.raises(ValueError, match="unknown exercise id 'nope'; valid: "):
        check("nope", 1)
    with pytest.raises(ValueError, match="already registered"):
        exercises.register(CHECKS["conv-params-1"])


def test_list_checks():
    rows = list_checks()
    assert {r["id"] for r in rows} == set(CHECKS)
    assert all(r["difficulty"] in ("easy", "medium", "hard") for r in rows)
    assert all(r["chapter"] == 1 for r in list_checks(1))
    assert check("conv-params-1", 1)._repr_html_().startswith("<p")


# ---------------------------------------------------------------------------------------------
# Chapter 1: each right answer against an independent torch oracle
# ---------------------------------------------------------------------------------------------

def _meta(*shape):
    return torch.empty(*shape, device="meta")


def test_chapter1_shapes_agree_with_torch():
    TF = torch.nn.functional
    y = TF.conv2d(_meta(1, 1, 32, 32), _meta(1, 1, 3, 3), padding=1, dilation=2)
    assert check("conv-dilated-out-1", y.shape[-1])
    y = TF.max_pool2d(_meta(1, 1, 56, 56), 3, 2, ceil_mode=True)
    assert check("pool-out-1", y.shape[-1])
    y = TF.conv_transpose2d(_meta(1, 1, 7, 7), _meta(1, 1, 4, 4), stride=2, padding=1)
    assert check("transposed-out-1", y.shape[-1])


def test_chapter1_counts_and_bytes_agree_with_torch():
    dense = torch.nn.Linear(32 * 32 * 3, 32 * 32 * 16, device="meta")
    assert check("dense-params-1", sum(p.numel() for p in dense.parameters()))
    y = torch.nn.Conv2d(64, 128, 3, padding=1, device="meta")(_meta(32, 64, 56, 56))
    assert check("conv-activation-bytes-1", y.numel() * y.element_size())
    cols = torch.nn.functional.unfold(torch.zeros(1, 64, 56, 56), 3, padding=1)
    assert check("im2col-bytes-1", cols.numel() * cols.element_size())


def test_chapter1_grouped_backward_against_autograd_shapes():
    """Per group, the weight gradient correlates C_in/G inputs with C_out/G output gradients: its
    MACs are numel(grad_weight) * N * H_out * W_out, and the input gradient's are
    numel(grad_input) * (C_out/G) * k^2 (stride 1). FlopCounterMode's figure is the hinted mistake."""
    conv = torch.nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
    x = torch.randn(8, 32, 28, 28, requires_grad=True)
    y = conv(x)
    y.backward(torch.ones_like(y))
    weight_macs = conv.weight.grad.numel() * 8 * 28 * 28
    input_macs = x.grad.numel() * (32 // 32) * 9
    assert check("backward-flops-grouped-1", 2 * (weight_macs + input_macs))
    with FlopCounterMode(display=False) as counter:
        conv(x).sum().backward()
    forward = 2 * y.numel() * 9
    counted_backward = counter.get_total_flops() - forward
    result = check("backward-flops-grouped-1", counted_backward)
    assert not result.correct and "FlopCounterMode" in result.message


def test_chapter1_winograd_multiplications_by_counting_tiles():
    """Count the products the library's Winograd really performs: the transformed tensors it
    multiplies elementwise have (m + r - 1)^2 entries per tile and channel pair."""
    from cnnbook_lib import algorithms
    x, w = torch.randn(1, 16, 17, 17, dtype=torch.float64), torch.randn(16, 16, 3, 3, dtype=torch.float64)
    y = algorithms.winograd_conv2d(x, w)
    assert torch.allclose(y, torch.nn.functional.conv2d(x, w))
    tiles = -(-y.shape[-1] // 2) * -(-y.shape[-2] // 2)
    assert check("winograd-mults-1", 16 * 16 * tiles * 4 ** 2)


def test_chapter1_attention_macs_against_flop_counter():
    tokens = torch.nn.functional.conv2d(_meta(1, 3, 224, 224), _meta(768, 3, 16, 16),
                                        stride=16).flatten(2).shape[-1]
    layer = torch.nn.MultiheadAttention(768, 12, batch_first=True)
    x = torch.randn(1, tokens, 768)
    with FlopCounterMode(display=False) as counter:
        layer(x, x, x, need_weights=True)
    assert check("attention-macs-1", counter.get_total_flops() // 2)


def test_answers_as_the_book_prints_them():
    """'73,856' (the book's thousands separator) is a number; True, None and malformed text are not."""
    right = check("conv-params-1", 73856)
    assert right.correct
    for same in ["73,856", " 73,856 ", "73856", "73 856", "7.3856e4", 73856.0]:
        assert check("conv-params-1", same).correct, same
    for bad in [True, False, None, "7,38,56", "73,85", "abc", "", "1e", [73856]]:
        result = check("conv-params-1", bad)
        assert not result.correct and "number" in str(result), bad
    assert not check("conv-out-size-1", True).correct      # True is not 1 (nor anything else)


def test_chapter1_hints_for_the_224_pixel_trap_and_the_missing_ceiling():
    """Exercise 1.1: the AlexNet paper's 224-pixel input gives 54 (the same value as a forgotten
    +1, so one hint names both) or 54.25 unrounded; exercise 1.9: dividing direct convolution's
    MACs by the ideal Winograd ratio is forgetting that tiles are whole (the ceiling)."""
    from cnnbook_lib import formulas as F
    trap = F.conv_output_size(224, 11, 4)
    assert trap == (227 - 11) // 4
    for answer in (trap, (224 - 11) / 4 + 1, "54.25"):
        result = check("conv-out-size-1", answer)
        assert not result.correct and "224" in result.message and "227" in result.message
    x = torch.zeros(1, 16, 17, 17)
    out = torch.nn.functional.conv2d(x, torch.zeros(16, 16, 3, 3)).shape[-1]
    fractional_tiles = 16 * 16 * (out / 2) ** 2 * 4 ** 2
    result = check("winograd-mults-1", fractional_tiles)
    assert not result.correct and "56.25 tiles" in result.message and "ceil(15/2) = 8" in result.message
    assert check("winograd-mults-1", 16 * 16 * (-(-out // 2)) ** 2 * 4 ** 2).correct


# ---------------------------------------------------------------------------------------------
# Chapter 4: the fill-in-the-table exercises and the architecture checks, against torch
# ---------------------------------------------------------------------------------------------

def test_chapter4_layer_table_agrees_with_torch():
    """Every row of a per-layer table: its parameters are the layer's numel(), its MACs half of
    FlopCounterMode on the meta device, its volume and bytes those of torch's output."""
    from cnnbook_lib import architectures
    table = exercises.layer_table("alexnet", (1, 3, 227, 227), variant="paper")
    with torch.device("meta"):
        model = architectures.build("alexnet", variant="paper")
    assert table.params.sum() == sum(p.numel() for p in model.parameters())
    x = torch.empty(1, 3, 227, 227, device="meta")
    for row in table.itertuples():
        layer = row.module
        y = torch.empty(1, *row.input, device="meta")
        with FlopCounterMode(display=False) as counter:
            out = layer(y)
        assert row.params == sum(p.numel() for p in layer.parameters())
        assert 2 * row.macs == counter.get_total_flops()
        assert row.volume == out[0].numel() and row.activation_bytes == out.nbytes
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert 2 * table.macs.sum() == counter.get_total_flops() == 2 * table.attrs["macs"]


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "mobilenet_v2"])
def test_chapter4_block_tables_agree_with_torch(name):
    """Networks built of stages get one row per block (residual, inception, depthwise): each
    row's parameters are its module's numel(), its MACs half of FlopCounterMode on the row's
    input, its output torch's; the rows add up to the whole network."""
    from cnnbook_lib import architectures
    table = exercises.layer_table(name, (1, 3, 224, 224))
    with torch.device("meta"):
        model = architectures.build(name)
    kinds = set(table.layer.str.replace(r"\d+[a-e]?$", "", regex=True))
    assert {"conv", "fc"} <= kinds and kinds & {"block", "inception"}
    for row in table.itertuples():
        with FlopCounterMode(display=False) as counter:
            out = row.module(torch.empty(1, *row.input, device="meta"))
        assert row.params == sum(p.numel() for p in row.module.parameters())
        assert 2 * row.macs == counter.get_total_flops()
        assert row.volume == out[0].numel() and row.activation_bytes == out.nbytes
    assert table.params.sum() == sum(p.numel() for p in model.parameters())
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    assert 2 * table.macs.sum() == counter.get_total_flops()


def test_chapter4_resnet50_stage_and_efficientnet_checks_against_torch():
    """ResNet-50's last stage (model[5]) by numel() and FlopCounterMode on its 14x14 input;
    EfficientNet-B7's width exponent from its channel counts (B7's stem has twice B0's)."""
    import math
    from cnnbook_lib import architectures
    with torch.device("meta"):
        model = architectures.build("resnet50")
        b0, b7 = architectures.build("efficientnet_b0"), architectures.build("efficientnet_b7")
    total = sum(p.numel() for p in model.parameters())
    assert check("resnet50-conv5-params-share-1",
                 100 * sum(p.numel() for p in model[5].parameters()) / total)
    with FlopCounterMode(display=False) as whole:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    with FlopCounterMode(display=False) as stage:
        model[5](torch.empty(1, 1024, 14, 14, device="meta"))
    assert check("resnet50-conv5-macs-share-1",
                 100 * stage.get_total_flops() / whole.get_total_flops())
    width = b7[0][0].out_channels / b0[0][0].out_channels
    assert width == 2.0 and check("efficientnet-b7-phi-width-1", math.log(width) / math.log(1.1))


def test_chapter4_fill_in_tables_blank_exactly_their_cells():
    for table_id, spec in exercises.FILL_IN_TABLES.items():
        shown = exercises.fill_in_table(table_id)
        blanks = shown.attrs["blanks"]
        assert len(blanks) == len(spec["blanks"]) and set(blanks.values()) <= set(CHECKS)
        cells = [(r, c) for r in range(len(shown)) for c in exercises.TABLE_COLUMNS
                 if str(shown.iloc[r][c]).startswith("???")]
        assert len(cells) == len(blanks)
        for letter, check_id in blanks.items():
            row = shown[shown.isin([f"??? ({letter})"]).any(axis=1)].iloc[0]
            column = next(c for c in exercises.TABLE_COLUMNS if row[c] == f"??? ({letter})")
            assert check_id == exercises.fill_in_check_id(table_id, row.layer, column)
            assert CHECKS[check_id].chapter == 4
    with pytest.raises(ValueError, match="unknown table"):
        exercises.fill_in_table("lenet")


def test_chapter4_checks_against_torch():
    from cnnbook_lib import architectures
    conv2 = torch.nn.Conv2d(96, 256, 5, padding=2, groups=2, device="meta")
    assert check("table-alexnet-conv2-params", sum(p.numel() for p in conv2.parameters()))
    with FlopCounterMode(display=False) as counter:
        conv2(torch.empty(1, 96, 27, 27, device="meta"))
    assert check("table-alexnet-conv2-macs", counter.get_total_flops() // 2)
    ungrouped = torch.nn.Conv2d(96, 256, 5, padding=2, device="meta")
    result = check("table-alexnet-conv2-params", sum(p.numel() for p in ungrouped.parameters()))
    assert not result and "grouped" in result.message
    assert "224" in check("table-alexnet-conv1-volume", 96 * 54 * 54).message
    lenet = architectures.build("lenet5")
    assert check("lenet5-c3-params-1", sum(p.numel() for p in lenet[4].parameters()))
    modern = architectures.build("lenet5", variant="modern")
    assert not check("lenet5-c3-params-1", sum(p.numel() for p in modern[3].parameters()))
    with torch.device("meta"):
        vgg = architectures.build("vgg16")
    head = sum(p.numel() for m in vgg.modules() if isinstance(m, torch.nn.Linear)
               for p in m.parameters())
    assert check("vgg16-head-share-1", 100 * head / sum(p.numel() for p in vgg.parameters()))
    with torch.device("meta"):
        alex = architectures.build("alexnet")
    outputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append(o[0].numel()))
             for m in alex.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    alex(torch.empty(1, 3, 224, 224, device="meta"))
    for h in hooks:
        h.remove()
    assert len(outputs) == 8 and check("alexnet-neurons-1", sum(outputs))


# ---------------------------------------------------------------------------------------------
# Chapter 2: each right answer against autograd (positive weights, no non-linearity: the pixels
# with a nonzero gradient for a unit are exactly its receptive field)
# ---------------------------------------------------------------------------------------------

def _support_1d(layers, n, unit):
    """First and last input pixel with a nonzero gradient for ``unit`` of the last map; layers are
    ("conv" | "pool", k, s, p); pooling is averaged over its windows, as the field counts every
    pixel that can win a max pooling."""
    TF = torch.nn.functional
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    h = x
    for kind, k, s, p in layers:
        if kind == "conv":
            h = TF.conv1d(h, torch.full((1, 1, k), 1.0 / k, dtype=torch.float64), stride=s, padding=p)
        else:
            h = TF.avg_pool1d(h, k, s, p, count_include_pad=True)
    h[0, 0, unit].backward()
    hit = (x.grad[0, 0] > 0).nonzero().flatten()
    return int(hit[0]), int(hit[-1]), h.shape[-1]


def test_chapter2_field_size_against_autograd():
    layers = [("conv", 7, 2, 3), ("pool", 3, 2, 1), ("conv", 3, 1, 1), ("conv", 3, 1, 1)]
    lo, hi, out = _support_1d(layers, 128, 16)
    assert 0 < lo and hi < 127 and out == 32
    assert check("rf-size-1", hi - lo + 1)
    # a real max pooling passes the gradient to one value per window: of the 11 pooling inputs
    # in the field of a unit two 3-tap layers above the pooling, at most its 5 windows' winners
    torch.manual_seed(0)
    pool_in = torch.randn(1, 1, 64, requires_grad=True)
    after = torch.nn.Sequential(torch.nn.MaxPool1d(3, 2, 1), torch.nn.Conv1d(1, 1, 3, 1, 1),
                                torch.nn.Conv1d(1, 1, 3, 1, 1))
    after(pool_in)[0, 0, 16].backward()
    lo_p, hi_p, _ = _support_1d([("pool", 3, 2, 1), ("conv", 3, 1, 1), ("conv", 3, 1, 1)], 64, 16)
    assert hi_p - lo_p + 1 == 11
    assert 0 < int((pool_in.grad != 0).sum()) <= 5


def test_chapter2_layer_count_against_autograd():
    """After the right number of 5x5 layers the central unit's gradient reaches all 224 pixels;
    one layer fewer, no unit's does (its field is narrower than the image)."""
    right = CHECKS["rf-cover-layers-1"].expected()
    lo, hi, out = _support_1d([("conv", 5, 1, 2)] * right, 224, 112)
    assert (lo, hi, out) == (0, 223, 224)
    lo, hi, _ = _support_1d([("conv", 5, 1, 2)] * (right - 1), 224, 112)
    assert hi - lo + 1 < 224
    assert check("rf-cover-layers-1", right)


def test_chapter2_effective_padding_against_autograd():
    """Unit i's field starts at i * jump - P: the jump from two neighbouring units, P from one."""
    layers = [("conv", 3, 2, 1)] * 3
    lo5, _, _ = _support_1d(layers, 96, 5)
    lo6, _, _ = _support_1d(layers, 96, 6)
    jump = lo6 - lo5
    assert lo5 > 0
    assert check("rf-eff-stride-1", jump)
    assert check("rf-eff-padding-1", 5 * jump - lo5)


def test_chapter2_stack_params_against_torch():
    layers = int(CHECKS["rf-stack-params-1"].expected() // (128 * 128 * 9))
    lo, hi, _ = _support_1d([("conv", 3, 1, 1)] * layers, 64, 32)
    assert hi - lo + 1 == 9
    stack = torch.nn.Sequential(*[torch.nn.Conv2d(128, 128, 3, padding=1, bias=False)
                                  for _ in range(layers)])
    assert check("rf-stack-params-1", sum(p.numel() for p in stack.parameters()))
    assert not check("rf-stack-params-1", sum(p.numel() for p in torch.nn.Conv2d(
        128, 128, 9, bias=False).parameters()))


def test_chapter2_dilated_field_against_autograd():
    """The stack of the exercise in 1-D with positive weights (pooling as averaging): the
    pixels with a gradient for the central unit span the checked field."""
    x = torch.ones(1, 1, 80, dtype=torch.float64, requires_grad=True)
    h = torch.nn.functional.conv1d(x, torch.ones(1, 1, 3, dtype=torch.float64), padding=1)
    h = torch.nn.functional.conv1d(h, torch.ones(1, 1, 3, dtype=torch.float64), padding=2,
                                   dilation=2)
    h = torch.nn.functional.avg_pool1d(h, 2, 2)
    h = torch.nn.functional.conv1d(h, torch.ones(1, 1, 3, dtype=torch.float64), padding=4,
                                   dilation=4)
    h[0, 0, h.shape[-1] // 2].backward()
    hit = (x.grad[0, 0] > 0).nonzero().flatten()
    assert 0 < hit[0] and hit[-1] < 79
    assert check("rf-dilated-field-1", int(hit[-1] - hit[0] + 1))


def test_chapter2_hole_free_design_against_autograd():
    """Rates 1, 3, 9, 27 reach each of 81 = 3^4 pixels by exactly one path (gradient of ones
    kernels); four 3-tap layers have 3^4 paths in all, so no hole-free field is larger."""
    x = torch.ones(1, 1, 81, dtype=torch.float64, requires_grad=True)
    h = x
    for d in (1, 3, 9, 27):
        h = torch.nn.functional.conv1d(h, torch.ones(1, 1, 3, dtype=torch.float64), dilation=d)
    assert h.shape[-1] == 1
    h[0, 0, 0].backward()
    assert x.grad[0, 0].tolist() == [1.0] * 81 and x.grad.sum() == 3 ** 4
    assert check("rf-dilated-design-1", 81)
    assert not check("rf-dilated-design-1", 31)


def test_chapter2_residual_field_against_autograd():
    """The book's basic blocks (identity and projection shortcuts, ReLUs, batch norm), measured."""
    from cnnbook_lib import receptive
    from cnnbook_lib.architectures import ConvBNAct, basic_block
    net = torch.nn.Sequential(ConvBNAct(3, 8, 7, 2), torch.nn.MaxPool2d(3, 2, 1),
                              basic_block(8, 8), basic_block(8, 8), basic_block(8, 16, stride=2))
    g = receptive.gradient_receptive_field(net, erf_samples=0)
    assert not g.clipped and g.size == receptive.receptive_field(net, g.input_size).size
    assert check("rf-residual-1", g.size)


def test_chapter2_erf_variance_against_autograd():
    """The gradient of an equal-weight stack is the distribution of the summed taps."""
    TF = torch.nn.functional
    x = torch.ones(1, 1, 40, dtype=torch.float64, requires_grad=True)
    h = x
    for _ in range(6):
        h = TF.conv1d(h, torch.full((1, 1, 5), 0.2, dtype=torch.float64), padding=2)
    h[0, 0, 20].backward()
    w = x.grad[0, 0] / x.grad.sum()
    pos = torch.arange(40, dtype=torch.float64)
    mean = float((w * pos).sum())
    assert check("erf-variance-1", float((w * (pos - mean) ** 2).sum()))


# ---------------------------------------------------------------------------------------------
# Chapter 3: each right answer against an independent torch oracle
# ---------------------------------------------------------------------------------------------

def test_chapter3_inception_branch_against_flop_counter():
    branch = torch.nn.Sequential(torch.nn.Conv2d(192, 16, 1), torch.nn.ReLU(),
                                 torch.nn.Conv2d(16, 32, 5, padding=2), torch.nn.ReLU()).to("meta")
    with FlopCounterMode(display=False) as counter:
        y = branch(_meta(1, 192, 28, 28))
    assert tuple(y.shape) == (1, 32, 28, 28)
    assert check("inception-5x5-macs-1", counter.get_total_flops() // 2)


def test_chapter3_bottleneck_weights_against_numel():
    from cnnbook_lib import architectures
    block = architectures.bottleneck(1024, 256)
    convs = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [tuple(m.weight.shape[:2]) for m in convs] == [(256, 1024), (256, 256), (1024, 256)]
    assert check("bottleneck-params-1", sum(m.weight.numel() for m in convs))
    assert all(m.bias is None for m in convs)


def test_chapter3_kernel_rank_against_torch():
    from cnnbook_lib.exercises import RANK_KERNEL
    kernel = torch.tensor(RANK_KERNEL, dtype=torch.float64)
    assert check("kernel-rank-1", int(torch.linalg.matrix_rank(kernel)))
    assert torch.linalg.svdvals(kernel)[-1] < 1e-12 < torch.linalg.svdvals(kernel)[-2]


def test_chapter3_asymmetric_saving_against_flop_counter():
    def macs(*kernels):
        layers = []
        for kh, kw in kernels:
            layers.append(torch.nn.Conv2d(32, 32, (kh, kw), padding=(kh // 2, kw // 2), bias=False,
                                          device="meta"))
        with FlopCounterMode(display=False) as counter:
            y = torch.nn.Sequential(*layers)(_meta(1, 32, 20, 20))
        assert tuple(y.shape) == (1, 32, 20, 20)
        return counter.get_total_flops() // 2
    saving = 1 - macs((1, 7), (7, 1)) / macs((7, 7))
    assert check("asymmetric-saving-1", saving)
    assert not check("asymmetric-saving-1", 1 - saving).correct


def test_chapter3_naive_inception_against_flop_counter():
    convs = [torch.nn.Conv2d(192, co, k, padding=k // 2, device="meta") for co, k in ((64, 1), (128, 3), (32, 5))]
    pool = torch.nn.MaxPool2d(3, 1, 1)
    x = _meta(1, 192, 28, 28)
    with FlopCounterMode(display=False) as counter:
        y = torch.cat([c(x) for c in convs] + [pool(x)], 1)
    assert tuple(y.shape) == (1, 64 + 128 + 32 + 192, 28, 28)
    assert check("naive-inception-macs-1", counter.get_total_flops() // 2)


def test_chapter3_separable_ratio_against_flop_counter():
    def flops(*layers):
        with FlopCounterMode(display=False) as counter:
            y = torch.nn.Sequential(*layers).to("meta")(_meta(1, 128, 14, 14))
        assert tuple(y.shape) == (1, 256, 14, 14)
        return counter.get_total_flops()
    separable = flops(torch.nn.Conv2d(128, 128, 3, padding=1, groups=128),
                      torch.nn.Conv2d(128, 256, 1))
    standard = flops(torch.nn.Conv2d(128, 256, 3, padding=1))
    assert check("separable-ratio-1", separable / standard)
    assert not check("separable-ratio-1", standard / separable).correct


def test_chapter3_expansion_budget_against_flop_counter():
    """The largest t whose block (the library's, counted by torch) fits the budget; t + 1 does not."""
    from cnnbook_lib import architectures
    from cnnbook_lib.exercises.ch3 import BUDGET_BLOCK
    c, hw, budget = BUDGET_BLOCK["c"], BUDGET_BLOCK["hw"], BUDGET_BLOCK["budget"]

    def block_macs(t):
        block = architectures.inverted_residual(c, c, 1, t).to("meta")
        with FlopCounterMode(display=False) as counter:
            block(_meta(1, c, hw, hw))
        return counter.get_total_flops() // 2
    answer = CHECKS["expansion-budget-1"].expected()
    assert answer > 1 and block_macs(answer) <= budget < block_macs(answer + 1)
    assert check("expansion-budget-1", answer)


def test_chapter3_grouped_params_against_numel():
    conv = torch.nn.Conv2d(96, 256, 5, padding=2, groups=2, bias=False)
    assert tuple(conv.weight.shape) == (256, 48, 5, 5)
    assert check("grouped-params-1", conv.weight.numel())


def test_chapter3_group_access_against_numel():
    """The values a grouped 1x1 layer reads and writes: numel() of its input, weight and output."""
    conv = torch.nn.Conv2d(128, 128, 1, groups=4, bias=False)
    x = torch.zeros(1, 128, 56, 56)
    y = conv(x)
    assert check("group-access-1", x.numel() + conv.weight.numel() + y.numel())
    assert not check("group-access-1", x.numel() + conv.weight.numel() * 4 + y.numel())


# ---------------------------------------------------------------------------------------------
# Chapter 1: the budget and roofline exercises
# ---------------------------------------------------------------------------------------------

def _conv_cost_by_torch(c):
    """MACs (FlopCounterMode) and float32 bytes (numel of weights, bias, input, output) of the
    budget exercise's layer with c channels, traced on the meta device."""
    conv = torch.nn.Conv2d(c, c, 3, padding=1, device="meta")
    x = _meta(1, c, 28, 28)
    with FlopCounterMode(display=False) as counter:
        y = conv(x)
    values = sum(p.numel() for p in conv.parameters()) + x.numel() + y.numel()
    return counter.get_total_flops() // 2, 4 * values


def test_chapter1_budget_channels_against_torch():
    """The answer fits 100 million MACs and 1 MiB by torch's own counts; one channel more does
    not."""
    c = CHECKS["budget-channels-1"].expected()
    macs, nbytes = _conv_cost_by_torch(c)
    assert macs <= 100_000_000 and nbytes <= 2 ** 20
    macs, nbytes = _conv_cost_by_torch(c + 1)
    assert macs > 100_000_000 or nbytes > 2 ** 20
    assert check("budget-channels-1", c)


def test_chapter1_roofline_ridge_from_the_datasheet():
    """NVIDIA A100 40GB datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf): FP16
    Tensor Core 312 TFLOPS dense, memory bandwidth 1,555 GB/s."""
    assert check("roofline-a100-ridge-1", 312e12 / 1555e9)
    assert check("roofline-a100-ridge-1", "200.6")


def test_chapter1_depthwise_intensity_against_flop_counter_and_numel():
    conv = torch.nn.Conv2d(128, 128, 3, padding=1, groups=128, bias=False, device="meta",
                           dtype=torch.float16)
    x = torch.empty(32, 128, 56, 56, device="meta", dtype=torch.float16)
    with FlopCounterMode(display=False) as counter:
        y = conv(x)
    nbytes = (x.numel() + conv.weight.numel() + y.numel()) * x.element_size()
    assert check("roofline-depthwise-intensity-1", counter.get_total_flops() / nbytes)


def test_chapter1_winograd_points_growth_from_a_numeric_correlation():
    """The matrices at the points 0, 1, 2, oo compute conv1d; the growth is their largest
    absolute row sum, taken with numpy."""
    import numpy as np
    import sympy as sp
    from cnnbook_lib import formulas as F
    a_t, g_m, b_t = (np.array(m.tolist(), dtype=float)
                     for m in F.winograd_matrices(2, 3, points=[0, 1, 2, sp.oo]))
    g, d = torch.randn(3, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    y = a_t @ ((g_m @ g.numpy()) * (b_t @ d.numpy()))
    assert np.allclose(y, torch.nn.functional.conv1d(d[None, None], g[None, None])[0, 0].numpy())
    assert check("winograd-points-growth-1", np.abs(b_t).sum(axis=1).max())


def test_chapter4_network_under_budget_from_summaries_and_records():
    """The most accurate candidate within both budgets, recomputed from Summary.training_memory()
    (traced in float32 at batch 1, scaled to 32), the shipped latency record and torchvision's
    published top-1; each hint's network breaks the budget it names."""
    from cnnbook_lib import analysis, architectures, published
    from cnnbook_lib.bench.latency import load_latency
    from cnnbook_lib.exercises import ch4
    from cnnbook_lib.architectures import input_size
    from cnnbook_lib.interactives.memory import NETWORKS
    lat = {r["name"]: 1e3 * r["median_s"] for r in load_latency("cpu")["rows"] if r["batch"] == 1}
    rows = []
    for name in NETWORKS:
        with torch.device("meta"):
            model = architectures.build(name)
        s = analysis.summarize(model, input_size(name), training=True)
        mem = s.training_memory(batch_size=ch4.PICK_BATCH, optimizer="adam")["total"] / 2 ** 30
        rows.append((name, lat[name], mem, published.top1(name)))
    ok = [r for r in rows if r[1] <= ch4.PICK_LATENCY_MS and r[2] <= ch4.PICK_MEMORY_GIB]
    best = max(ok, key=lambda r: r[3])
    assert check("network-under-budget-1", best[3])
    fast = max((r for r in rows if r[1] <= ch4.PICK_LATENCY_MS), key=lambda r: r[3])
    if fast != best:
        assert fast[2] > ch4.PICK_MEMORY_GIB
        assert "memory budget" in check("network-under-budget-1", fast[3]).message
    assert not check("network-under-budget-1", best[3] + 1)


def test_chapter4_budget_answer_does_not_hang_on_the_records_noise():
    """The latency budget of the network-choice exercise is decided by the record with room to
    spare: every candidate's recorded latency for one image is further from the budget than the
    interquartile range of its repeated runs (its spread), so a re-recording within that spread
    would not change which networks are fast enough, nor the answer."""
    from cnnbook_lib.bench.latency import load_latency
    from cnnbook_lib.exercises import ch4
    from cnnbook_lib.interactives.memory import NETWORKS
    rows = {r["name"]: r for r in load_latency("cpu")["rows"] if r["batch"] == 1}
    budget = ch4.PICK_LATENCY_MS / 1e3
    straddle = [n for n in NETWORKS if abs(rows[n]["median_s"] - budget) <= rows[n]["iqr_s"]]
    assert not straddle, f"recorded latency too close to the {ch4.PICK_LATENCY_MS} ms budget: {straddle}"


def test_chapter4_googlenet_densenet_convnext_vit_checks_against_torch():
    """The four architecture checks against plain torch modules and the papers' descriptions:
    GoogLeNet 3a (Szegedy et al. 2015, Table 1: 192 in, 3x3 reduce 96, 3x3 128 at 28x28), DenseNet-121
    (Huang et al. 2017: 64 channels into the first block, growth 32), a ConvNeXt block (Liu et al.
    2022, Figure 4: 7x7 depthwise, LayerNorm, 1x1 to 4C, 1x1 back, layer scale), ViT-B/16
    (Dosovitskiy et al. 2021: 16x16 patches plus a class token)."""
    from torch import nn
    with FlopCounterMode(display=False) as counter:
        nn.Conv2d(192, 128, 3, padding=1, bias=False, device="meta")(
            torch.empty(1, 192, 28, 28, device="meta"))
    assert check("googlenet-3a-unreduced-macs-1", counter.get_total_flops() // 2)
    assert "reduction" in check("googlenet-3a-unreduced-macs-1", 96 * 128 * 9 * 28 * 28).message
    assert check("densenet121-block1-last-input-1", 64 + 5 * 32)
    assert "output" in check("densenet121-block1-last-input-1", 64 + 6 * 32).message
    c = 96
    block = [nn.Conv2d(c, c, 7, padding=3, groups=c), nn.LayerNorm(c), nn.Linear(c, 4 * c),
             nn.Linear(4 * c, c)]
    params = sum(p.numel() for m in block for p in m.parameters()) + c      # + layer scale
    assert check("convnext-block-params-1", params)
    assert "depthwise" in check("convnext-block-params-1",
                                params + c * c * 49 - c * 49).message
    patches = nn.Conv2d(3, 768, 16, 16, device="meta")(torch.empty(1, 3, 384, 384, device="meta"))
    assert check("vit-b16-tokens-384-1", patches.shape[-1] * patches.shape[-2] + 1)
    assert "class token" in check("vit-b16-tokens-384-1", 576).message
