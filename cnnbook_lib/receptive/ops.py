"""The operations the tracer knows, one geometry function per layer type of the recurrence, and
the tables of operations that move, mix or pool positions."""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .axis import Gather

# ---------------------------------------------------------------------------------------------
# Geometry of the layers of the recurrence: function -> (op, k, s, d, p, per-axis steps)
# ---------------------------------------------------------------------------------------------


def _bind(names: Sequence[str], args, kwargs) -> dict:
    bound = dict(zip(names, args))
    bound.update(kwargs)
    return bound


def _nd(name: str, value, n: int, default) -> tuple[int, ...]:
    value = default if value is None else value
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value) if len(value) == n else tuple(int(value[0]) for _ in range(n))
    return (int(value),) * n


def _steps(k, s, d, p):
    """Per-axis steps of the recurrence (a negative padding crops: a plain gather)."""
    return [(lambda a, x=x: a.step(k[x], s[x], d[x], p[x])) if p[x] >= 0 else
            (lambda a, x=x: a.gather(Gather.conv(k[x], s[x], d[x], p[x])))
            for x in range(len(k))]


def _conv_geometry(args, kwargs, x, out):
    a = _bind(("input", "weight", "bias", "stride", "padding", "dilation", "groups"), args, kwargs)
    k = tuple(a["weight"].shape[2:])
    n = len(k)
    s, d = _nd("stride", a.get("stride"), n, 1), _nd("dilation", a.get("dilation"), n, 1)
    p = a.get("padding", 0)
    if p == "valid":
        p = 0
    elif p == "same":      # PyTorch pads d(k-1) in all, the odd pixel on the right/bottom
        p = tuple(d[i] * (k[i] - 1) // 2 for i in range(n))
    p = _nd("padding", p, n, 0)
    return "conv", k, s, d, p, _steps(k, s, d, p)


def _conv_transpose_geometry(args, kwargs, x, out):
    a = _bind(("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
               "dilation"), args, kwargs)
    k = tuple(a["weight"].shape[2:])
    n = len(k)
    s, d = _nd("stride", a.get("stride"), n, 1), _nd("dilation", a.get("dilation"), n, 1)
    p = _nd("padding", a.get("padding"), n, 0)
    steps = [lambda ax, i=i: ax.gather(Gather.transposed(k[i], s[i], d[i], p[i])) for i in range(n)]
    return "conv_transpose", k, s, d, p, steps


def _pool_geometry(op: str, names: Sequence[str], n: int):
    def geometry(args, kwargs, x, out):
        a = _bind(names, args, kwargs)
        k = _nd("kernel_size", a["kernel_size"], n, 1)
        stride = a.get("stride")
        s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
            _nd("stride", stride, n, 1)
        d, p = _nd("dilation", a.get("dilation"), n, 1), _nd("padding", a.get("padding"), n, 0)
        return op, k, s, d, p, _steps(k, s, d, p)
    return geometry


def _pad_geometry(args, kwargs, x, out):
    pad = list(_bind(("input", "pad", "mode", "value"), args, kwargs)["pad"])
    n = len(pad) // 2
    left = tuple(int(pad[2 * (n - 1 - i)]) for i in range(n))
    ones = (1,) * n
    return "pad", ones, ones, ones, left, _steps(ones, ones, ones, left)


def _interpolate_geometry(args, kwargs, x, out):
    a = _bind(("input", "size", "scale_factor", "mode", "align_corners",
               "recompute_scale_factor", "antialias"), args, kwargs)
    mode = a.get("mode") or "nearest"
    if a.get("antialias"):
        raise ValueError("the receptive field through antialiased interpolation is not modelled")
    taps = {"nearest": None, "nearest-exact": None, "linear": "linear", "bilinear": "linear",
            "trilinear": "linear", "bicubic": "cubic"}
    if mode not in taps:
        raise ValueError(f"the receptive field through interpolate(mode={mode!r}) is not modelled")
    n = x.dim() - 2
    sf = a.get("scale_factor")
    steps = []
    for i in range(n):
        n_in, n_out = x.shape[2 + i], out.shape[2 + i]
        if a.get("align_corners") and taps[mode]:
            scale = Fraction(n_in - 1, n_out - 1) if n_out > 1 else Fraction(0)
            offset = Fraction(0)
        else:
            if sf is not None and not a.get("recompute_scale_factor"):
                f = sf[i] if isinstance(sf, (tuple, list)) else sf
                scale = Fraction(1 / float(f)).limit_denominator(10 ** 6)
            else:
                scale = Fraction(n_in, n_out)
            offset = {None: Fraction(0)}.get(taps[mode], scale / 2 - Fraction(1, 2))
            if mode == "nearest-exact":
                offset = scale / 2
        g = Gather.resample(scale, offset, taps[mode])
        steps.append(lambda ax, g=g: ax.gather(g))
    return f"upsample ({mode})", None, None, None, None, steps


def _pixel_shuffle_geometry(args, kwargs, x, out):
    """pixel_shuffle(r): output unit h r + i comes from unit h (i indexes channels), a nearest
    r-fold upsampling of the field; pixel_unshuffle(r) puts each r x r patch in the channels,
    whose next layer sees all of it, as after an r x r convolution of stride r."""
    a = _bind(("input", "factor"), args, kwargs)
    r = int(a.get("factor", kwargs.get("upscale_factor", kwargs.get("downscale_factor"))))
    if out.shape[-1] > x.shape[-1]:
        g = Gather.resample(Fraction(1, r), Fraction(0), None)
        return "pixel_shuffle", None, None, None, None, [lambda ax: ax.gather(g)] * 2
    k = (r, r)
    return "pixel_unshuffle", k, k, (1, 1), (0, 0), _steps(k, k, (1, 1), (0, 0))


def _lp_pool_geometry(n: int):
    def geometry(args, kwargs, x, out):
        a = _bind(("input", "norm_type", "kernel_size", "stride", "ceil_mode"), args, kwargs)
        k = _nd("kernel_size", a["kernel_size"], n, 1)
        s = k if a.get("stride") is None else _nd("stride", a["stride"], n, 1)
        ones, zeros = (1,) * n, (0,) * n
        return "lppool", k, s, ones, zeros, _steps(k, s, ones, zeros)
    return geometry


_MAXPOOL_ARGS = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                 "return_indices")
_AVGPOOL_ARGS = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                 "divisor_override")

#: Layers of the recurrence: function -> geometry (op, k, s, d, p, per-axis steps).
GEOMETRY = {F.pad: _pad_geometry, torch._C._nn.pad: _pad_geometry,
            F.interpolate: _interpolate_geometry, F.pixel_shuffle: _pixel_shuffle_geometry,
            F.pixel_unshuffle: _pixel_shuffle_geometry, F.lp_pool1d: _lp_pool_geometry(1),
            F.lp_pool2d: _lp_pool_geometry(2)}
if hasattr(F, "lp_pool3d"):
    GEOMETRY[F.lp_pool3d] = _lp_pool_geometry(3)
MAXPOOL = set()
for _n in (1, 2, 3):
    GEOMETRY[getattr(torch, f"conv{_n}d")] = _conv_geometry
    GEOMETRY[getattr(torch, f"conv_transpose{_n}d")] = _conv_transpose_geometry
    for _fn in (getattr(F, f"max_pool{_n}d"), getattr(F, f"_max_pool{_n}d", None),
                getattr(F, f"max_pool{_n}d_with_indices"), getattr(torch, f"max_pool{_n}d")):
        if _fn is not None:
            GEOMETRY[_fn] = _pool_geometry("maxpool", _MAXPOOL_ARGS, _n)
            MAXPOOL.add(_fn)
    GEOMETRY[getattr(F, f"avg_pool{_n}d")] = _pool_geometry("avgpool", _AVGPOOL_ARGS, _n)

#: Operations of a classifier head that see the whole input: the trace stops before them.
GLOBAL = {F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d,
          F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d,
          F.adaptive_max_pool2d_with_indices}

#: Operations whose receptive field this module does not model.
UNSUPPORTED = {F.grid_sample, F.unfold, F.fold,
               F.max_unpool1d, F.max_unpool2d, F.max_unpool3d, torch.flip, torch.Tensor.flip, torch.rot90, torch.Tensor.rot90, torch.gather,
               torch.Tensor.gather, torch.index_select, torch.Tensor.index_select,
               torch.take_along_dim, F.affine_grid, torch.sort, torch.Tensor.sort,
               torch.argsort, torch.Tensor.argsort, torch.cumsum, torch.Tensor.cumsum,
               F.fractional_max_pool2d, F.fractional_max_pool3d}

# ---------------------------------------------------------------------------------------------
# Operations that mix positions along some dimensions: function -> the dimensions
# ---------------------------------------------------------------------------------------------


def _dims(dim, ndim: int) -> list[int]:
    if dim is None:
        return list(range(ndim))
    if isinstance(dim, (tuple, list)):
        return [d % ndim for d in dim]
    return [dim % ndim]


def _dim_arg(position: int):
    def dims(args, kwargs, x):
        return _dims(kwargs.get("dim", args[position] if len(args) > position else None), x.dim())
    return dims


def _softmax_dims(args, kwargs, x):
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    return _dims(dim if dim is not None else -1, x.dim())


def _layer_norm_dims(args, kwargs, x):
    shape = _bind(("input", "normalized_shape"), args, kwargs)["normalized_shape"]
    count = len(shape) if isinstance(shape, (tuple, list, torch.Size)) else 1
    return list(range(x.dim() - count, x.dim()))


#: Shape-keeping operations that mix positions along the returned dimensions.
MIXING = {F.softmax: _softmax_dims, torch.softmax: _softmax_dims,
          torch.Tensor.softmax: _softmax_dims, F.log_softmax: _softmax_dims,
          torch.log_softmax: _softmax_dims, torch.Tensor.log_softmax: _softmax_dims,
          F.layer_norm: _layer_norm_dims, F.rms_norm: _layer_norm_dims,
          F.group_norm: lambda args, kwargs, x: list(range(1, x.dim())),
          F.instance_norm: lambda args, kwargs, x: list(range(2, x.dim())),
          F.normalize: lambda args, kwargs, x: _dims(kwargs.get("dim", args[2] if len(args) > 2 else 1), x.dim())}

_REDUCTIONS = ("mean", "sum", "amax", "amin", "max", "min", "std", "var", "logsumexp", "norm",
               "prod", "nansum", "nanmean", "median", "argmax", "argmin", "all", "any",
               "count_nonzero", "std_mean", "var_mean")
#: Reductions: function -> the reduced dimensions (all where no ``dim`` is given).
REDUCE = {}
for _name in _REDUCTIONS:
    for _owner in (torch, torch.Tensor):
        if hasattr(_owner, _name):
            REDUCE[getattr(_owner, _name)] = _dim_arg(1)

MATMUL = {torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__,
          torch.bmm, torch.Tensor.bmm, torch.mm, torch.Tensor.mm, torch.baddbmm, torch.addmm}
#: Attention: function -> the sequence dimension of key and value (``None``: 0 when unbatched
#: or sequence-first). Eval-mode fast paths of nn.MultiheadAttention and
#: nn.TransformerEncoderLayer are batch-first.
ATTENTION = {F.scaled_dot_product_attention: -2, F.multi_head_attention_forward: 0,
             torch._native_multi_head_attention: -2, torch._transformer_encoder_layer_fwd: -2}
#: Functions whose result depends on a tensor's shape but not on its values (new_zeros, ...).
CONSTANT = {torch.Tensor.new_zeros, torch.Tensor.new_ones, torch.Tensor.new_full,
            torch.Tensor.new_empty, torch.Tensor.new_tensor, torch.zeros_like, torch.ones_like,
            torch.empty_like, torch.full_like, torch.rand_like, torch.randn_like,
            torch.randint_like}
LINEAR = {F.linear, torch._C._nn.linear}

_RESHAPES = {torch.reshape, torch.Tensor.reshape, torch.Tensor.view, torch.flatten,
             torch.Tensor.flatten, torch.Tensor.unflatten, torch.unflatten, torch.squeeze,
             torch.Tensor.squeeze, torch.unsqueeze, torch.Tensor.unsqueeze,
             torch.Tensor.view_as, torch.Tensor.reshape_as, torch.Tensor.contiguous,
             torch.Tensor.squeeze_, torch.Tensor.unsqueeze_, nn.Flatten.forward}
_PERMUTES = {torch.permute, torch.Tensor.permute, torch.transpose, torch.Tensor.transpose,
             torch.swapaxes, torch.Tensor.swapaxes, torch.swapdims, torch.Tensor.swapdims,
             torch.movedim, torch.Tensor.movedim, torch.moveaxis, torch.Tensor.moveaxis,
             torch.Tensor.t, torch.t}
_EXPANDS = {torch.Tensor.expand, torch.Tensor.expand_as, torch.broadcast_to,
            torch.Tensor.broadcast_to}
_CATS = {torch.cat, torch.concat, torch.concatenate}
_GETITEM = {torch.Tensor.__getitem__}


def _permutation(func, args, kwargs, ndim: int) -> list[int]:
    if func in (torch.permute, torch.Tensor.permute):
        dims = kwargs.get("dims", args[1:])
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return [d % ndim for d in dims]
    order = list(range(ndim))
    if func in (torch.movedim, torch.Tensor.movedim, torch.moveaxis, torch.Tensor.moveaxis):
        a = _bind(("input", "source", "destination"), args, kwargs)
        src, dst = a["source"], a["destination"]
        src = [src] if isinstance(src, int) else list(src)
        dst = [dst] if isinstance(dst, int) else list(dst)
        src, dst = [s % ndim for s in src], [d % ndim for d in dst]
        rest = [d for d in order if d not in src]
        out = [None] * ndim
        for s, d in zip(src, dst):
            out[d] = s
        it = iter(rest)
        return [o if o is not None else next(it) for o in out]
    if func in (torch.Tensor.t, torch.t):
        return order[::-1]
    d0, d1 = (list(args[1:3]) + [kwargs.get("dim0"), kwargs.get("dim1")])[:2]
    d0, d1 = d0 % ndim, d1 % ndim
    order[d0], order[d1] = order[d1], order[d0]
    return order
