// Training-memory calculator: the bytes of one training step (weights, gradients, optimizer state,
// saved activations) of a network at a batch size, optimizer and dtype, and the largest batch that
// fits a memory budget. The data holds each network's parameter count and the bytes autograd saves
// per image, split into floating-point tensors (which scale with the dtype) and the rest (the int64
// indices of max pooling), both from cnnbook_lib.analysis.summarize traced in training mode, and the
// weights of the layers autocast casts. "mixed float16" / "mixed bfloat16" is automatic mixed
// precision (torch.autocast): float32 weights, gradients and optimizer state, half-precision copies
// of the convolution and linear weights, half-precision activations.
import { fail, widget } from "./cb.js";
import { max_batch, optimizer_state_bytes, scaled_activation_bytes, tensor_bytes } from "./formulas.js";

export function compute(v, data) {
  const net = data.networks[v.network];
  const mixed = v.dtype.startsWith("mixed ");
  const half = mixed ? v.dtype.slice("mixed ".length) : v.dtype;
  const b = data.dtype_bytes[half], states = data.optimizer_states[v.optimizer];
  const master = mixed ? data.dtype_bytes.float32 : b;      // bytes of a weight, gradient, state
  const weights = tensor_bytes(net.params, master);
  const perImage = tensor_bytes(net.float_saved, b) + net.other_saved;
  const parts = {weights, gradients: weights,
    optimizer_state: optimizer_state_bytes(states, net.params, master),
    half_weight_copies: mixed ? tensor_bytes(net.cast_weights, b) : 0,
    activations: scaled_activation_bytes(perImage, 1, v.batch)};
  const fixed = parts.weights + parts.gradients + parts.optimizer_state + parts.half_weight_copies;
  const total = fixed + parts.activations;
  const budget = v.budget_gib * 1024 ** 3;
  if (fixed > budget) {
    fail(`weights, gradients, optimizer state${mixed ? " and weight copies" : ""} alone need ${(fixed / 1024 ** 3).toFixed(2)} GiB, more than the ${v.budget_gib} GiB budget`);
  }
  const fits = max_batch(budget, fixed, perImage, 1);
  return {outputs: {params: net.params, states, elem_bytes: b, ...parts, total, per_image: perImage,
    fits, share: parts.activations / total},
    figure: [{kind: "bars", title: `${v.network}, batch ${v.batch}, ${v.optimizer}, ${v.dtype}`,
      series: ["bytes"], fmts: ["shortbytes"],
      rows: [["weights", parts.weights], ["gradients", parts.gradients],
        ["optimizer state", parts.optimizer_state],
        ...(mixed ? [["half-precision weight copies", parts.half_weight_copies]] : []),
        ["saved activations", parts.activations],
        ["total", total]].map(([label, x]) => ({label, values: [x]}))}]};
}

export default widget(compute);
