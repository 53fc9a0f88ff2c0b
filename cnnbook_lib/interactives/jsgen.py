"""Compile sympy expressions of :mod:`cnnbook_lib.formulas` to JavaScript.

The interactives evaluate formulas in the browser with functions generated here by
``sympy.jscode`` into the ES module ``js/formulas.js``: no formula is ever written by hand in
JavaScript. :data:`JS_FORMULAS` names each function and its arguments; regenerate the file after
changing a formula or the table with ::

    python -m cnnbook_lib.interactives.jsgen

(a test fails while the file is stale). A formula is also shown as text, with the numbers
substituted, from a template printed from the same expression (:func:`formula_template`).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import sympy as sp

from .. import formulas as fm

#: The generated module of formulas, beside the interactives' modules.
FORMULAS_JS = Path(__file__).with_name("js") / "formulas.js"


def _table() -> dict[str, tuple[sp.Expr, tuple[sp.Symbol, ...]]]:
    """JavaScript function name -> (sympy expression, argument symbols in call order)."""
    return {
        "effective_kernel": (fm.effective_kernel, (fm.k, fm.d)),
        "conv_output": (fm.conv_output, (fm.n, fm.k, fm.s, fm.p, fm.d)),
        "conv_transpose_output": (fm.conv_transpose_output, (fm.n, fm.k, fm.s, fm.p, fm.op, fm.d)),
        "conv_params": (fm.conv_params_expr, (fm.c_in, fm.c_out, fm.k_h, fm.k_w, fm.g, fm.beta)),
        "conv_macs": (fm.conv_macs_expr,
                      (fm.c_in, fm.c_out, fm.k_h, fm.k_w, fm.h_out, fm.w_out, fm.g, fm.N)),
        "flops": (fm.flops_expr, (fm.macs_sym,)),
        "tensor_bytes": (fm.tensor_bytes_expr, (fm.numel, fm.b)),
        "input_bytes": (fm.conv_backward_cache_bytes_expr, (fm.N, fm.c_in, fm.h_in, fm.w_in, fm.b)),
        "activation_bytes": (fm.conv_activation_bytes_expr, (fm.N, fm.c_out, fm.h_out, fm.w_out, fm.b)),
        "separable_ratio": (fm.separable_ratio, (fm.c_out, fm.k)),
        "grouped_ratio": (fm.grouped_ratio, (fm.g,)),
        "rf_size": (fm.rf_size_step, (fm.rf_r, fm.rf_j, fm.k, fm.d)),
        "rf_jump": (fm.rf_jump_step, (fm.rf_j, fm.s)),
        "rf_start": (fm.rf_start_step, (fm.rf_u, fm.rf_j, fm.k, fm.d, fm.p)),
        "rf_padding": (fm.rf_padding_expr, (fm.rf_r, fm.rf_u)),
        "hdc_step": (fm.hdc_gap_step, (fm.rf_M, fm.hdc_r)),
        "winograd_mults": (fm.winograd_mults_expr,
                           (fm.c_in, fm.c_out, fm.h_out, fm.w_out, fm.N, fm.wino_m, fm.wino_r)),
        "winograd_tiles": (fm.winograd_tiles_expr, (fm.h_out, fm.w_out, fm.wino_m)),
        "winograd_workspace": (fm.winograd_workspace_elements_expr,
                               (fm.c_in, fm.c_out, fm.h_out, fm.w_out, fm.N, fm.wino_m, fm.wino_r)),
        "fft_products": (fm.fft_products_expr, (fm.c_in, fm.c_out, fm.h_f, fm.w_f, fm.N)),
        "fft_workspace": (fm.fft_workspace_complex_expr, (fm.c_in, fm.c_out, fm.h_f, fm.w_f, fm.N)),
        "width_resolution_ratio": (fm.width_resolution_ratio, (fm.alpha_w, fm.rho_r)),
        "depthwise_width_resolution_ratio": (fm.depthwise_width_resolution_ratio,
                                             (fm.alpha_w, fm.rho_r)),
        "optimizer_state_bytes": (fm.optimizer_state_bytes_expr, (fm.n_states, fm.n_params, fm.b)),
        "max_batch": (fm.max_batch_expr, (fm.mem_budget, fm.mem_fixed, fm.act_bytes, fm.N)),
        "scaled_activation_bytes": (fm.scaled_activation_bytes_expr,
                                    (fm.act_bytes, fm.N, fm.batch_new)),
        "im2col_elements": (fm.im2col_elements_expr,
                            (fm.c_in, fm.k_h, fm.k_w, fm.h_out, fm.w_out, fm.N)),
    }


JS_FORMULAS = _table()


def js_function(expr: sp.Expr, args: Sequence[sp.Symbol]) -> str:
    """JavaScript source ``function(a0, a1, ...) { return <expr>; }`` for ``expr(*args)``.

    The symbols are renamed to ``a0, a1, ...`` (same assumptions) so that any symbol name
    (``C_in``, ``beta``) is a valid JavaScript identifier. Raises ``ValueError`` if ``expr``
    has a free symbol that is not among ``args``.
    """
    names = [sp.Symbol(f"a{i}", **a.assumptions0) for i, a in enumerate(args)]
    renamed = sp.sympify(expr).xreplace(dict(zip(args, names)))
    missing = renamed.free_symbols - set(names)
    if missing:
        raise ValueError(f"expression {expr} has symbols {sorted(map(str, missing))} "
                         f"not among the arguments {[str(a) for a in args]}")
    code = sp.jscode(renamed)
    return f"function({', '.join(map(str, names))}) {{ return {code}; }}"


def formula_template(expr: sp.Expr) -> list:
    """The text of ``expr`` as the interactives show it: segments, strings and ``[symbol_name]``
    where a symbol stands, taken from the formula's registered textbook display form
    (:func:`cnnbook_lib.formulas.display.form_of`), so an interactive prints
    ``⌊(n + 2·p − d·(k − 1) − 1)/s⌋ + 1`` as the book does, not sympy's term order. Both the
    Python and the JavaScript view fill the symbols in, with their names (the formula) or with
    numbers (the formula with numbers substituted). An expression with no display form is refused.
    """
    from ..formulas.display import form_of
    return form_of(expr).template()


def fill_template(template: list, values: dict | None = None) -> str:
    """Join a :func:`formula_template`, substituting ``values[name]`` where given."""
    values = values or {}
    return "".join(seg if isinstance(seg, str) else str(values.get(seg[0], seg[0]))
                   for seg in template)


def formulas_module(table: dict[str, tuple[sp.Expr, Sequence[sp.Symbol]]] | None = None) -> str:
    """Source of the ES module ``js/formulas.js``: one exported function per entry of the table."""
    table = JS_FORMULAS if table is None else table
    out = ["// Generated from cnnbook_lib.formulas by sympy.jscode: do not edit.",
           "// Regenerate with: python -m cnnbook_lib.interactives.jsgen", ""]
    for name, (expr, args) in table.items():
        signature = ", ".join(str(a) for a in args)
        out.append(f"// {name}({signature}) = {sp.sstr(expr)}")
        out.append(f"export const {name} = {js_function(expr, args)};")
    return "\n".join(out) + "\n"


def main() -> None:
    """Write ``js/formulas.js`` (``--check``: exit 1 if it is stale instead)."""
    text = formulas_module()
    if "--check" in sys.argv[1:]:
        stale = not FORMULAS_JS.exists() or FORMULAS_JS.read_text(encoding="utf-8") != text
        print(f"{FORMULAS_JS} is {'stale' if stale else 'up to date'}")
        raise SystemExit(1 if stale else 0)
    FORMULAS_JS.write_text(text, encoding="utf-8")
    print(f"wrote {FORMULAS_JS} ({len(JS_FORMULAS)} functions)")


if __name__ == "__main__":
    main()
