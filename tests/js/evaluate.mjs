// Evaluate an interactive's module on many settings in node, as its view does in a browser.
// usage: node evaluate.mjs INPUT.json  with {module, cb, spec, data, raws} -> JSON on stdout:
// [{res, html}] where res = evaluate(spec, compute, raw, data) and html = renderView(spec, res).
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const mod = await import(pathToFileURL(input.module).href);
const cb = await import(pathToFileURL(input.cb).href);
if (typeof mod.compute !== "function" || typeof mod.default?.render !== "function") {
  throw new Error(`${input.module} must export compute and a default {render}`);
}
const out = input.raws.map((raw) => {
  const res = cb.evaluate(input.spec, mod.compute, raw, input.data);
  return {res, html: cb.renderView(input.spec, res)};
});
process.stdout.write(JSON.stringify(out));
