// Layer cost calculator: parameters, MACs, FLOPs and memory of one Conv2d layer.
import { fail, widget } from "./cb.js";
import { activation_bytes, conv_macs, conv_output, conv_params, effective_kernel, flops, input_bytes,
  tensor_bytes } from "./formulas.js";

export function compute(v, data) {
  const {k, stride, padding} = v, eff = effective_kernel(k, 1);
  for (const n of [v.h, v.w]) {
    if (eff > n + 2 * padding) {
      fail(`kernel ${k} (effective ${eff}) is larger than padded input ${n + 2 * padding} (n=${n}, p=${padding})`);
    }
  }
  const ho = conv_output(v.h, k, stride, padding, 1), wo = conv_output(v.w, k, stride, padding, 1);
  if (v.c_in % v.groups) { fail(`groups ${v.groups} does not divide in_channels ${v.c_in}`); }
  if (v.c_out % v.groups) { fail(`groups ${v.groups} does not divide out_channels ${v.c_out}`); }
  const beta = v.bias === "yes" ? 1 : 0, b = data.dtype_bytes[v.dtype];
  const params = conv_params(v.c_in, v.c_out, k, k, v.groups, beta);
  const macs = conv_macs(v.c_in, v.c_out, k, k, ho, wo, v.groups, v.batch);
  const fl = flops(macs);
  return {outputs: {
    h_out: ho, w_out: wo, beta, params, macs, flops: fl, elem_bytes: b,
    param_bytes: tensor_bytes(params, b), input_bytes: input_bytes(v.batch, v.c_in, v.h, v.w, b),
    act_bytes: activation_bytes(v.batch, v.c_out, ho, wo, b), flops_per_param: fl / params}};
}

export default widget(compute);
