"""The result of :func:`cnnbook_lib.analysis.summarize`: one row per module call, and totals."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .. import formulas as F
from ._checks import check_dtype, check_int, check_str


@dataclass
class LayerRow:
    """Cost of one call of one module: a leaf layer, or any module that issued ops itself."""

    name: str
    type: str
    input_shape: tuple
    output_shape: tuple
    params: int = 0
    macs: int = 0
    flops: int = 0
    other_ops: int = 0
    other_kind: str = ""
    activation_bytes: int = 0           # bytes of the output
    backward_macs: int = 0
    counted: bool = True                # False: a leaf type without a layer rule (costed by ops)
    reused: bool = False                # the module already ran earlier in this forward pass
    saved_bytes: int = 0                # bytes autograd keeps, first saved by this call
    leaf: bool = True                   # the module has no submodules
    other_by_kind: dict = field(default_factory=dict)
    ops: dict = field(default_factory=dict)         # ATen op name -> count (free ops left out)
    uncosted_ops: dict = field(default_factory=dict)   # ops without a cost rule -> count


@dataclass
class Summary:
    """Result of :func:`summarize`: per-layer rows and totals."""

    rows: list[LayerRow]
    input_size: tuple
    dtype: str
    params: int
    macs: int
    flops: int
    other_ops: int
    other_ops_by_kind: dict[str, int]
    backward_macs: int
    backward_flops: int
    activation_bytes: int               # outputs of the leaf layers, added up
    saved_activation_bytes: int         # storages autograd keeps for backward (no weights)
    uncounted: list[str] = field(default_factory=list)   # leaf types without a layer rule
    #                                (costed by the ops they dispatch, none dropped)
    unattributed_flops: int = 0         # FLOPs of ops issued outside every module call
    uncosted_ops: dict[str, int] = field(default_factory=dict)   # op -> count, no cost rule
    device: str = "meta"
    unbatched: bool = False             # the first convolution ran on an input without batch

    @property
    def batch(self) -> int:
        """Batch size of the traced input (its first dimension; 1 for an unbatched input)."""
        return 1 if self.unbatched else int(self.input_size[0])

    def training_memory(self, batch_size: int | None = None, dtype: str | None = None,
                        optimizer: str = "adam") -> dict[str, int]:
        """Bytes of a training step: weights, gradients, optimizer state and saved activations.

        Weights, gradients and optimizer state are in ``dtype`` (default: the summary's); the
        activations are those autograd kept in the trace (its dtype), scaled linearly from the
        traced batch to ``batch_size``. Adam keeps two moments per parameter, SGD with momentum
        one, plain SGD none. An estimate: it leaves out the framework's workspace and temporary
        buffers.
        """
        dtype = self.dtype if dtype is None else check_dtype("dtype", dtype)
        check_str("optimizer", optimizer)
        F.optimizer_states(optimizer)       # validates the name first
        batch_size = self.batch if batch_size is None else check_int("batch_size", batch_size, 1,
                                                                     2 ** 31)
        weights = F.tensor_bytes(self.params, dtype) if self.params else 0
        acts = (F.scaled_activation_bytes(self.saved_activation_bytes, self.batch, batch_size)
                if self.saved_activation_bytes else 0)
        out = {"weights": weights, "gradients": weights,
               "optimizer_state": F.optimizer_state_bytes(self.params, optimizer, dtype),
               "activations": acts}
        out["total"] = sum(out.values())
        return out

    def to_dataframe(self):
        """The rows as a pandas DataFrame."""
        import pandas as pd
        return pd.DataFrame([asdict(r) for r in self.rows])

    def _table(self):
        df = self.to_dataframe()
        if df.empty:
            return df
        cols = ["name", "type", "output_shape", "params", "macs", "other_ops", "activation_bytes",
                "saved_bytes"]
        df = df[cols].copy()
        df["output_shape"] = df["output_shape"].map(lambda s: "x".join(map(str, s)))
        return df

    def totals_line(self) -> str:
        """The totals on one line: parameters, MACs, FLOPs, other ops, activations."""
        line = (f"input {'x'.join(map(str, self.input_size))} ({self.dtype}, {self.device}): "
                f"params {self.params:,} | MACs {self.macs:,} | FLOPs {self.flops:,} | "
                f"other ops {self.other_ops:,} | backward FLOPs {self.backward_flops:,} | "
                f"activations {self.activation_bytes:,} B | saved for backward "
                f"{self.saved_activation_bytes:,} B")
        if self.uncosted_ops:
            line += " | ops without a cost rule: " + ", ".join(
                f"{k} x{v}" for k, v in sorted(self.uncosted_ops.items()))
        return line

    _FMT = ("params", "macs", "other_ops", "activation_bytes", "saved_bytes")

    def __str__(self) -> str:
        df = self._table()
        fmt = {c: "{:,}".format for c in self._FMT}
        body = df.to_string(index=False, formatters=fmt) if len(df) else "(no layers)"
        return body + "\n" + self.totals_line()

    def _repr_html_(self) -> str:
        import html
        df = self._table()
        fmt = {c: "{:,}".format for c in self._FMT}
        return df.to_html(index=False, formatters=fmt) + f"<p>{html.escape(self.totals_line())}</p>"
