"""Measured memory of one training step, to set beside ``Summary.training_memory()``.

:func:`training_step_memory` runs one step (forward, backward, optimizer step) of a network of
:mod:`cnnbook_lib.architectures` in a fresh Python process, so that the process's peak is the
step's own, and reports:

* ``saved_bytes``: the bytes of the distinct storages autograd saved for the backward pass,
  read with ``torch.autograd.graph.saved_tensors_hooks`` (parameters excluded): what the formula
  calls activations;
* ``weights_bytes``, ``gradients_bytes``, ``optimizer_state_bytes``: the tensors themselves,
  after the step (``numel() * element_size()`` of parameters, their ``.grad`` and the optimizer's
  state tensors);
* ``peak_rss_delta_bytes`` (CPU): how far the process's resident memory rose during the step
  above what it held just before (on Linux the peak ``VmHWM`` is reset first through
  ``/proc/self/clear_refs``, so building the model does not hide the step's own peak; elsewhere
  ``getrusage``'s lifetime peak, named in ``peak_method``). It also holds what the formula leaves
  out (temporary buffers, the allocator's slack); on CUDA ``peak_allocated_delta_bytes`` from
  ``torch.cuda.max_memory_allocated``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_CHILD = r"""
import json, resource, sys
import torch
from cnnbook_lib import architectures
args = json.loads(sys.argv[1])
torch.manual_seed(0)
torch.set_num_threads(args["threads"])
dev = torch.device(args["device"])
model = architectures.build(args["name"]).to(dev).train()
x = torch.randn(args["shape"], device=dev)
target = torch.randint(0, 1000 if args["name"] != "lenet5" else 10, (args["shape"][0],), device=dev)
opt = {"adam": lambda p: torch.optim.Adam(p), "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
       "sgd": lambda p: torch.optim.SGD(p, lr=0.1)}[args["optimizer"]](model.parameters())
params = {p.untyped_storage().data_ptr() for p in model.parameters()}
saved = {}
def pack(t):
    s = t.untyped_storage()
    if s.data_ptr() not in params:
        saved[s.data_ptr()] = s.nbytes()
    return t
def unpack(t):
    return t
if dev.type == "cuda":
    torch.cuda.synchronize(dev); torch.cuda.reset_peak_memory_stats(dev)
    base_cuda = torch.cuda.memory_allocated(dev)
def status(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(key + ":"))
try:                                   # Linux: reset the peak (VmHWM) to the current footprint
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    method, base = "VmHWM after clear_refs", status("VmRSS")
except OSError:
    method, base = "ru_maxrss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
import contextlib
mixed = (torch.autocast(dev.type, dtype=getattr(torch, args["autocast"])) if args["autocast"]
         else contextlib.nullcontext())
with torch.autograd.graph.saved_tensors_hooks(pack, unpack), mixed:
    out = model(x)
    if isinstance(out, tuple):
        out = out[0]
    loss = torch.nn.functional.cross_entropy(out, target)
loss.backward()
opt.step()
if dev.type == "cuda":
    torch.cuda.synchronize(dev)
peak = (status("VmHWM") if method.startswith("VmHWM")
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
nbytes = lambda t: t.numel() * t.element_size()
res = {"saved_bytes": sum(saved.values()),
       "weights_bytes": sum(nbytes(p) for p in model.parameters()),
       "gradients_bytes": sum(nbytes(p.grad) for p in model.parameters() if p.grad is not None),
       "optimizer_state_bytes": sum(nbytes(v) for st in opt.state.values() for v in st.values()
                                    if torch.is_tensor(v) and v.dim() > 0),
       "peak_rss_delta_bytes": peak - base, "peak_method": method}
if dev.type == "cuda":
    res["peak_allocated_delta_bytes"] = torch.cuda.max_memory_allocated(dev) - base_cuda
print(json.dumps(res))
"""

OPTIMIZERS = ("adam", "sgd_momentum", "sgd")


def training_step_memory(name: str, shape, *, optimizer: str = "adam", device: str = "cpu",
                         threads: int = 1, timeout: float = 300,
                         autocast: str | None = None) -> dict[str, Any]:
    """Memory of one training step of network ``name`` on an input of ``shape`` (batch first),
    measured in a fresh process; see the module docstring for the keys. ``autocast``
    (``"float16"`` or ``"bfloat16"``) runs the forward pass and the loss under ``torch.autocast``
    in that dtype (automatic mixed precision: the parameters stay float32)."""
    from .. import architectures
    if name not in architectures.names():
        raise ValueError(f"unknown network {name!r}; valid: {', '.join(architectures.names())}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if (not isinstance(shape, (list, tuple)) or len(shape) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)):
        raise ValueError(f"shape must be four positive integers (N, C, H, W), got {shape!r}")
    if autocast is not None and autocast not in ("float16", "bfloat16"):
        raise ValueError(f"autocast must be None, 'float16' or 'bfloat16', got {autocast!r}")
    args = dict(name=name, shape=list(shape), optimizer=optimizer, device=device, threads=threads,
                autocast=autocast)
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"the training step of {name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
