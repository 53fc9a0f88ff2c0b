"""Chapter 1 checks: convolution."""
from __future__ import annotations

from .. import formulas as F
from ._core import Check, register

# ---------------------------------------------------------------------------------------------
# Chapter 1: convolution
# ---------------------------------------------------------------------------------------------

register(Check(
    id="conv-out-size-1", chapter=1, difficulty="easy",
    question="Output width of an 11x11, stride-4 convolution without padding on a 227-pixel input.",
    answer=lambda: F.conv_output_size(227, 11, 4),
    mistakes={
        # floor((227 - 11) / 4) happens to equal the output of a 224-pixel input
        "you forgot the +1 (a kernel that fits exactly once still gives one output), or you used "
        "the 224-pixel input that the AlexNet paper states: floor((224 - 11)/4) + 1 is 54 too. "
        "This layer gets 227 pixels.":
            lambda: (227 - 11) // 4,
        "you divided the whole input by the stride; subtract the kernel first.":
            lambda: 227 // 4,
        "that is (224 - 11)/4 + 1 without rounding down, for the AlexNet paper's 224-pixel input. "
        "This layer gets 227 pixels, and the floor makes every output size a whole number.":
            lambda: (224 - 11) / 4 + 1,
    },
))

register(Check(
    id="conv-params-1", chapter=1, difficulty="easy",
    question="Parameters of a 3x3 convolution from 64 to 128 channels, with bias.",
    answer=lambda: F.conv_params(64, 128, 3),
    mistakes={
        "you left out the biases (one per output channel).":
            lambda: F.conv_params(64, 128, 3, bias=False),
        "you counted one bias per input channel instead of one per output channel.":
            lambda: F.conv_params(64, 128, 3, bias=False) + 64,
        "each filter spans all input channels: multiply by C_in as well.":
            lambda: 128 * 9 + 128,
    },
))

register(Check(
    id="conv-macs-1", chapter=1, difficulty="medium",
    question="Multiply-accumulates of a 3x3 convolution, 64 to 128 channels, stride 1, padding 1, "
             "on a 56x56 input, batch 32.",
    answer=lambda: F.conv_macs(64, 128, 3, F.conv_output_size(56, 3, 1, 1), batch=32),
    mistakes={
        "that is the FLOP count: one multiply-accumulate is two FLOPs.":
            lambda: 2 * F.conv_macs(64, 128, 3, 56, batch=32),
        "you left out the batch of 32.":
            lambda: F.conv_macs(64, 128, 3, 56),
        "with padding 1 the output stays 56x56; you used the unpadded 54x54.":
            lambda: F.conv_macs(64, 128, 3, 54, batch=32),
    },
))

register(Check(
    id="conv-dilated-out-1", chapter=1, difficulty="easy",
    question="Output width of a 3x3 convolution with dilation 2, stride 1 and padding 1 on a "
             "32-pixel input.",
    answer=lambda: F.conv_output_size(32, 3, 1, 1, 2),
    mistakes={
        "dilation spreads the kernel: its extent is d(k-1)+1, not k.":
            lambda: F.conv_output_size(32, 3, 1, 1),
        "the dilated extent is d(k-1)+1, not d*k.":
            lambda: 32 + 2 - 2 * 3 + 1,
    },
))

register(Check(
    id="pool-out-1", chapter=1, difficulty="easy",
    question="Output width of 3x3 max pooling with stride 2, no padding and ceil_mode=True on a "
             "56-pixel input.",
    answer=lambda: F.pool_output_size(56, 3, 2, ceil_mode=True),
    mistakes={
        "with ceil_mode=True the division rounds up, so a last partial window is kept.":
            lambda: F.pool_output_size(56, 3, 2),
        "you forgot the +1 after the division.":
            lambda: (56 - 3) // 2,
    },
))

register(Check(
    id="transposed-out-1", chapter=1, difficulty="medium",
    question="Output width of a transposed convolution with kernel 4, stride 2, padding 1 and "
             "output_padding 0 on a 7-pixel input.",
    answer=lambda: F.conv_transpose_output_size(7, 4, 2, 1),
    mistakes={
        "that is the ordinary convolution's output size; a transposed convolution enlarges.":
            lambda: F.conv_output_size(7, 4, 2, 1),
        "padding crops 2p outputs of a transposed convolution; you left it out.":
            lambda: F.conv_transpose_output_size(7, 4, 2, 0),
        "padding crops 2p outputs of a transposed convolution; you added it instead.":
            lambda: (7 - 1) * 2 + 2 * 1 + 4,
    },
))

register(Check(
    id="dense-params-1", chapter=1, difficulty="easy",
    question="Parameters of a dense layer (with bias) from a 32x32x3 image to a 32x32x16 output.",
    answer=lambda: F.linear_params(32 * 32 * 3, 32 * 32 * 16),
    mistakes={
        "you left out the biases (one per output feature).":
            lambda: F.linear_params(32 * 32 * 3, 32 * 32 * 16, bias=False),
        "that is a 3x3 convolution's count; a dense layer connects every input to every output.":
            lambda: F.conv_params(3, 16, 3),
    },
))

register(Check(
    id="conv-activation-bytes-1", chapter=1, difficulty="medium",
    question="Bytes of the float32 output of a 3x3 convolution, 64 to 128 channels, stride 1, "
             "padding 1, on 56x56 inputs, batch 32.",
    answer=lambda: F.conv_activation_bytes(128, F.conv_output_size(56, 3, 1, 1), 32),
    mistakes={
        "that is the number of elements: float32 takes 4 bytes each.":
            lambda: F.conv_activation_bytes(128, 56, 32) // 4,
        "you left out the batch of 32.":
            lambda: F.conv_activation_bytes(128, 56, 1),
        "that is the input (64 channels); the output has 128.":
            lambda: F.conv_backward_cache_bytes(64, 56, 32),
    },
))

register(Check(
    id="im2col-bytes-1", chapter=1, difficulty="medium",
    question="Bytes of the float32 im2col patch matrix of a 3x3 convolution on a 64x56x56 input, "
             "stride 1, padding 1, batch 1.",
    answer=lambda: F.im2col_bytes(64, 3, F.conv_output_size(56, 3, 1, 1)),
    mistakes={
        "every input value is copied into up to k*k columns: multiply the input by k^2.":
            lambda: F.tensor_bytes((1, 64, 56, 56)),
        "that is the number of elements: float32 takes 4 bytes each.":
            lambda: F.im2col_elements(64, 3, 56),
        "with padding 1 there are 56x56 output positions, not 54x54.":
            lambda: F.im2col_bytes(64, 3, 54),
    },
))

register(Check(
    id="backward-flops-grouped-1", chapter=1, difficulty="hard",
    question="Backward-pass FLOPs (input gradient plus weight gradient) of a depthwise 3x3 "
             "convolution with 32 channels (groups=32), stride 1, padding 1, on 28x28 inputs, "
             "batch 8.",
    answer=lambda: F.macs_to_flops(F.conv_backward_macs(32, 32, 3, 28, groups=32, batch=8)),
    mistakes={
        "that is torch's FlopCounterMode figure: it counts the grouped weight gradient G times "
        "too high.":
            lambda: F.macs_to_flops(F.conv_macs(32, 32, 3, 28, groups=32, batch=8) * (1 + 32)),
        "those are MACs; one MAC is two FLOPs.":
            lambda: F.conv_backward_macs(32, 32, 3, 28, groups=32, batch=8),
        "a depthwise filter sees one input channel: divide by the groups.":
            lambda: F.macs_to_flops(F.conv_backward_macs(32, 32, 3, 28, batch=8)),
    },
))

register(Check(
    id="winograd-mults-1", chapter=1, difficulty="medium",
    question="Multiplications of Winograd F(2x2, 3x3) for a 3x3 convolution, 16 to 16 channels, "
             "on a 15x15 output, batch 1 (transforms not counted).",
    answer=lambda: F.winograd_multiplications(16, 16, 15),
    mistakes={
        "that is direct convolution's count; Winograd needs 16 products per 2x2 tile.":
            lambda: F.conv_macs(16, 16, 3, 15),
        "an odd output size still needs a whole last tile: ceil(15/2) tiles per axis, not floor.":
            lambda: 16 * 16 * (15 // 2) ** 2 * 16,
        "each tile needs (m+r-1)^2 = 16 products per channel pair, not 4.":
            lambda: 16 * 16 * 8 ** 2 * 4,
        "that is direct convolution's count divided by the ideal ratio m^2 r^2/(m+r-1)^2, as if "
        "(15/2)^2 = 56.25 tiles covered the output. Tiles are whole: ceil(15/2) = 8 per axis, and "
        "the last tile's extra outputs are computed too.":
            lambda: F.conv_macs(16, 16, 3, 15)
            / float(F.winograd_reduction_expr.subs({F.wino_m: 2, F.wino_r: 3})),
    },
))

register(Check(
    id="attention-macs-1", chapter=1, difficulty="medium",
    question="MACs of one self-attention layer of width 768 over the 16x16 patches of a 224x224 "
             "image, batch 1.",
    answer=lambda: F.attention_macs(F.conv_output_size(224, 16, 16) ** 2, 768),
    mistakes={
        "attention runs over patches, not pixels: 224/16 = 14 per axis.":
            lambda: F.attention_macs(224 * 224, 768),
        "you counted the scores and the weighted sum but not the four projections (4 T D^2).":
            lambda: 2 * (F.conv_output_size(224, 16, 16) ** 2) ** 2 * 768,
        "that is FLOPs; one MAC is two FLOPs.":
            lambda: F.macs_to_flops(F.attention_macs(F.conv_output_size(224, 16, 16) ** 2, 768)),
    },
))


# ---------------------------------------------------------------------------------------------
# Chapter 1: a layer designed under a budget
# ---------------------------------------------------------------------------------------------

#: The budget exercise: a 3x3 convolution, stride 1, padding 1, C channels in and out, with bias,
#: on a 28x28 input, batch 1, float32; at most this many MACs and bytes (weights + input + output).
BUDGET_LAYER = dict(k=3, hw=28, batch=1, mac_budget=100_000_000, byte_budget=2 ** 20)


def layer_fits(c: int, *, k: int, hw: int, batch: int, mac_budget: float, byte_budget: float,
               bytes_per_value: int = 4, flops: bool = False) -> bool:
    """Whether a k x k, stride-1, same-padded convolution with ``c`` channels in and out (bias)
    stays within ``mac_budget`` MACs (FLOPs if ``flops``) and ``byte_budget`` bytes of weights,
    input and output."""
    out = F.conv_output_size(hw, k, 1, k // 2)
    work = F.conv_macs(c, c, k, out, batch=batch)
    values = F.conv_params(c, c, k) + batch * c * hw * hw + batch * c * out * out
    return (2 * work if flops else work) <= mac_budget and values * bytes_per_value <= byte_budget


def largest_channels(**budget) -> int:
    """The largest channel count :func:`layer_fits` accepts (both costs grow with ``c``)."""
    c = 0
    while layer_fits(c + 1, **budget):
        c += 1
    if c == 0:
        raise ValueError(f"not even one channel fits the budget {budget}")
    return c


register(Check(
    id="budget-channels-1", chapter=1, difficulty="medium",
    question="Largest C for a 3x3, stride-1, padding-1 convolution from C to C channels (bias) on "
             "a 28x28 input, batch 1, float32, within 100 million MACs and 1 MiB of weights, input "
             "and output.",
    answer=lambda: largest_channels(**BUDGET_LAYER),
    mistakes={
        "that C meets the MAC budget but not the memory budget: its weights, input and output "
        "take more than 1 MiB. Both limits must hold; the tighter one decides.":
            lambda: largest_channels(**{**BUDGET_LAYER, "byte_budget": float("inf")}),
        "you compared FLOPs (two per MAC) with the budget of 100 million MACs.":
            lambda: largest_channels(**BUDGET_LAYER, flops=True),
        "you took 1 MiB as 1,000,000 bytes; a mebibyte is 2^20 = 1,048,576 bytes.":
            lambda: largest_channels(**{**BUDGET_LAYER, "byte_budget": 1_000_000}),
        "you counted the weights only; the input and output must fit in the budget too.":
            lambda: max(c for c in range(1, 4096) if 4 * F.conv_params(c, c, 3) <= 2 ** 20),
    },
))

# ---------------------------------------------------------------------------------------------
# Chapter 1: roofline classification on a named GPU
# ---------------------------------------------------------------------------------------------

#: Peak figures of the NVIDIA A100 40 GB (SXM4) from NVIDIA's datasheet
#: ("NVIDIA A100 Tensor Core GPU", nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf): FP32
#: 19.5 TFLOPS; Tensor Float 32 156 TFLOPS and FP16 Tensor Core 312 TFLOPS without sparsity (the
#: datasheet doubles both "with sparsity"); GPU memory bandwidth 1,555 GB/s. Given data of the
#: roofline exercise, not measurements.
A100_DATASHEET = {"device": "NVIDIA A100 40GB SXM4 (datasheet)", "bandwidth": 1555e9,
                  "flops": {"float32": 19.5e12, "tf32": 156e12, "float16": 312e12}}
#: The depthwise layer of the roofline exercise: 3x3, 128 channels, groups=128, stride 1,
#: padding 1, 56x56, batch 32, in float16.
ROOFLINE_DEPTHWISE = dict(c_in=128, c_out=128, k=3, hw=56, batch=32, groups=128)


def _depthwise_intensity(dtype: str = "float16", *, groups: int | None = None, macs: bool = False,
                         output: bool = True) -> float:
    lay = {**ROOFLINE_DEPTHWISE, **({} if groups is None else {"groups": groups})}
    out = F.conv_output_size(lay["hw"], lay["k"], 1, 1)
    work = F.conv_macs(lay["c_in"], lay["c_out"], lay["k"], out, lay["groups"], lay["batch"])
    nbytes = F.conv_min_bytes(lay["c_in"], lay["c_out"], lay["k"], lay["hw"], out, lay["groups"],
                              lay["batch"], dtype)
    if not output:
        nbytes -= F.tensor_bytes((lay["batch"], lay["c_out"], out, out), dtype)
    return (work if macs else F.macs_to_flops(work)) / nbytes


register(Check(
    id="roofline-a100-ridge-1", chapter=1, difficulty="easy", rel_tol=0.004, unit="FLOP/byte",
    question="Ridge point of the NVIDIA A100 40GB for FP16 tensor-core work (datasheet figures: "
             "312 TFLOP/s dense, 1,555 GB/s), in FLOP per byte.",
    answer=lambda: F.ridge_point(A100_DATASHEET["flops"]["float16"], A100_DATASHEET["bandwidth"]),
    mistakes={
        "you used the 624 TFLOP/s 'with sparsity' figure; a dense convolution gets 312.":
            lambda: F.ridge_point(2 * A100_DATASHEET["flops"]["float16"],
                                  A100_DATASHEET["bandwidth"]),
        "that is the FP32 ridge point (19.5 TFLOP/s); the question is about FP16 tensor cores.":
            lambda: F.ridge_point(A100_DATASHEET["flops"]["float32"], A100_DATASHEET["bandwidth"]),
        "you divided bandwidth by peak; the ridge point is peak FLOP/s over bytes/s.":
            lambda: A100_DATASHEET["bandwidth"] / A100_DATASHEET["flops"]["float16"],
        "you mixed units: 312 TFLOP/s over 1,555 GB/s is 312e12 / 1555e9, not 312 / 1555.":
            lambda: 312 / 1555,
    },
))

register(Check(
    id="roofline-depthwise-intensity-1", chapter=1, difficulty="medium", rel_tol=0.01,
    unit="FLOP/byte",
    question="Arithmetic intensity (FLOPs per byte of minimum traffic: input, weights and output "
             "once each) of a depthwise 3x3 convolution, 128 channels, groups=128, stride 1, "
             "padding 1, on 56x56 inputs, batch 32, in float16.",
    answer=lambda: _depthwise_intensity(),
    mistakes={
        "you counted 4 bytes per value (float32) or MACs instead of FLOPs: either halves the "
        "intensity. This layer is float16, 2 bytes per value, and one MAC is two FLOPs.":
            lambda: _depthwise_intensity("float32"),
        "you counted the FLOPs of an ordinary convolution; a depthwise filter sees one channel, "
        "so divide the MACs by the 128 groups.":
            lambda: _depthwise_intensity(groups=1),
        "you left out writing the output; the minimum traffic reads the input and weights and "
        "writes the output.":
            lambda: _depthwise_intensity(output=False),
    },
))

# ---------------------------------------------------------------------------------------------
# Chapter 1: Winograd's transforms from other interpolation points
# ---------------------------------------------------------------------------------------------

#: The interpolation points of the Winograd exercise (the library's default is 0, 1, -1, oo).
WINOGRAD_POINTS = (0, 1, 2, "oo")


def winograd_growth(points=WINOGRAD_POINTS, *, dims: int = 1, signed: bool = False) -> float:
    """Largest absolute row sum of F(2, 3)'s integer input transform B^T for the given points
    (``"oo"`` for infinity; None for the library's default): how much the transform can enlarge
    the largest input, per axis (``dims=2``: squared, for B^T d B). ``signed`` adds the entries
    with their signs (a mistake the exercise's hints name)."""
    import sympy as sp

    pts = None if points is None else [sp.oo if p == "oo" else p for p in points]
    b_t = F.winograd_matrices(2, 3, pts)[2]
    growth = max(sum(b_t.row(i)) if signed else sum(abs(v) for v in b_t.row(i))
                 for i in range(b_t.rows))
    return float(growth ** dims)


register(Check(
    id="winograd-points-growth-1", chapter=1, difficulty="hard",
    question="Largest absolute row sum of the integer input transform B^T of Winograd F(2, 3) "
             "derived at the points 0, 1, 2 and infinity.",
    answer=lambda: winograd_growth(),
    mistakes={
        "that is the growth of the default points 0, 1, -1 and infinity; the question asks for "
        "0, 1, 2 and infinity.":
            lambda: winograd_growth(None),
        "you added the entries with their signs; the growth bound adds their absolute values, "
        "since the inputs may have any signs.":
            lambda: winograd_growth(signed=True),
        "that is the 2-D growth of B^T d B (the row sum squared); the question asks for B^T "
        "alone.":
            lambda: winograd_growth(dims=2),
    },
))

# ---------------------------------------------------------------------------------------------
# Chapter 1: predict, then check (a prediction made before running anything, then confirmed)
# ---------------------------------------------------------------------------------------------

register(Check(
    id="predict-lenet-wider-1", chapter=1, difficulty="easy",
    question="MACs of LeNet's second convolution (5x5, 16 filters, no padding, 14x14 input) when "
             "the first convolution has 12 filters instead of 6.",
    answer=lambda: F.conv_macs(12, 16, 5, F.conv_output_size(14, 5)),
    mistakes={
        "that is the unchanged layer's count, with 6 input channels: every filter of the second "
        "layer spans all the maps of the first, so doubling them doubles its MACs.":
            lambda: F.conv_macs(6, 16, 5, F.conv_output_size(14, 5)),
        "the output is 10x10 (14 - 5 + 1, no padding), not 14x14.":
            lambda: F.conv_macs(12, 16, 5, 14),
        "that is the FLOP count: one multiply-accumulate is two FLOPs.":
            lambda: 2 * F.conv_macs(12, 16, 5, F.conv_output_size(14, 5)),
    },
))

register(Check(
    id="predict-train-step-1", chapter=1, difficulty="easy",
    question="MACs of one training step (forward pass, input gradient and weight gradient) of a "
             "3x3 convolution from 64 to 64 channels, padding 1, on a 32x32 input, as a multiple "
             "of its forward MACs.",
    answer=lambda: (F.conv_macs(64, 64, 3, 32) + F.conv_backward_macs(64, 64, 3, 32))
    / F.conv_macs(64, 64, 3, 32),
    rel_tol=1e-9,
    mistakes={
        "that is either the backward pass alone or the forward pass with only one of the two "
        "gradients: the input gradient and the weight gradient each cost as much as the forward "
        "pass, and the step includes the forward pass.":
            lambda: F.conv_backward_macs(64, 64, 3, 32) / F.conv_macs(64, 64, 3, 32),
        "that counts the forward pass once more than it runs (the step is one forward and one "
        "backward pass).":
            lambda: (2 * F.conv_macs(64, 64, 3, 32) + F.conv_backward_macs(64, 64, 3, 32))
            / F.conv_macs(64, 64, 3, 32),
    },
))

register(Check(
    id="predict-double-channels-1", chapter=1, difficulty="easy",
    question="Factor by which a 3x3, stride-1, same-padded convolution's MACs grow when both its "
             "input and output channels are doubled (the image size unchanged).",
    answer=lambda: F.conv_macs(128, 128, 3, 56) / F.conv_macs(64, 64, 3, 56),
    rel_tol=1e-9,
    mistakes={
        "doubling one side of the channels doubles the MACs; doubling both multiplies them "
        "twice.":
            lambda: F.conv_macs(128, 64, 3, 56) / F.conv_macs(64, 64, 3, 56),
    },
))
