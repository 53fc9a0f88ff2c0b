// Convolution algorithms compared: multiplications and workspace of direct, im2col + GEMM, FFT and
// Winograd convolution for one stride-1 layer, float32.
import { fail, widget } from "./cb.js";
import { conv_macs, conv_output, fft_products, fft_workspace, im2col_elements, tensor_bytes,
  winograd_mults, winograd_tiles, winograd_workspace } from "./formulas.js";

const FLOAT32 = 4;

export function compute(v) {
  const {c_in: ci, c_out: co, hw: n, k, padding: p, batch: nb, m} = v;
  if (k > n + 2 * p) { fail(`kernel ${k} (effective ${k}) is larger than padded input ${n + 2 * p} (n=${n}, p=${p})`); }
  const out = conv_output(n, k, 1, p, 1), hf = n + 2 * p;
  const direct = conv_macs(ci, co, k, k, out, out, 1, nb);
  const wino = winograd_mults(ci, co, out, out, nb, m, k);
  const fft = 4 * fft_products(ci, co, hf, hf, nb);
  const im2colB = tensor_bytes(im2col_elements(ci, k, k, out, out, nb), FLOAT32);
  const winoB = tensor_bytes(winograd_workspace(ci, co, out, out, nb, m, k), FLOAT32);
  const fftB = tensor_bytes(2 * fft_workspace(ci, co, hf, hf, nb), FLOAT32);
  const inputB = tensor_bytes(nb * ci * n * n, FLOAT32);
  const rows = [["direct", direct, 0], ["im2col + GEMM", direct, im2colB], [`FFT (${hf}×${hf})`, fft, fftB],
    [`Winograd F(${m}×${m}, ${k}×${k})`, wino, winoB]];
  return {outputs: {
    out, fft_size: hf, tiles: winograd_tiles(out, out, m), direct, wino, fft,
    wino_saving: direct / wino, fft_saving: direct / fft, input_bytes: inputB, im2col_bytes: im2colB,
    wino_bytes: winoB, fft_bytes: fftB, im2col_blowup: im2colB / inputB},
  figure: [{kind: "bars", title: `${ci}→${co} channels, ${k}×${k} kernel, ${n}×${n} input, batch ${nb}`,
    series: ["multiplications", "extra memory (float32)"], fmts: ["short", "shortbytes"],
    rows: rows.map(([label, mu, by]) => ({label, values: [mu, by]})),
    caption: "FFT: 4 real multiplications per complex product, transforms not counted. " +
      "Winograd: transforms (additions) not counted."}]};
}

export default widget(compute);
