"""Generate the "Supported functions" list of docs/numpy.md from the registry.

Run ``python docs/numpy_functions.py`` after adding a function; tests/test_numpy_docs.py
fails while the page and the registry disagree. Each public function of ``tapegrad``,
``tapegrad.linalg`` and ``tapegrad.fft`` is listed once with how it is differentiated:

* **primitive**: it binds a registered primitive that has a VJP rule;
* **composition**: it is written with other operations (no rule of its own);
* **no gradient**: integer, boolean or piecewise-constant results;
* **constructor**: it makes a new leaf tensor from numbers or a shape.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parent / "numpy.md"
BEGIN = "<!-- BEGIN GENERATED: supported functions (python docs/numpy_functions.py) -->"
END = "<!-- END GENERATED: supported functions -->"

# Compositions whose results are constants of their inputs.
_CONSTANT = {"fftfreq", "rfftfreq"}
# Compositions of operations without a gradient (integer or picked-by-value results).
_NO_GRADIENT = {"argwhere", "count_nonzero", "flatnonzero", "matrix_rank", "unique_all",
                "unique_counts", "unique_inverse", "unique_values"}
# Names that bind a primitive registered under another name.
_PRIMITIVE_NAMES = {"solve": "linalg_solve", "pow": "power", "true_divide": "divide",
                    "square": "power", "amax": "max", "amin": "min", "absolute": "abs",
                    "fix": "trunc", "rint": "round", "mod": "remainder", "getitem": "getitem",
                    "concat": "concatenate", "permute_dims": "transpose"}


def _kind(name: str, fn, module: str) -> str:
    from tapegrad import registry

    if module.endswith(".create") or name in _CONSTANT:
        return "constructor" if name not in _CONSTANT else "no gradient"
    if name in _NO_GRADIENT:
        return "no gradient"
    prim = registry.get(_PRIMITIVE_NAMES.get(name, getattr(fn, "__name__", name)))
    if prim is None:
        prim = registry.get(name)
    if prim is None:
        return "composition"
    return "primitive" if prim.vjp is not None else "no gradient"


def _rows(namespace, prefix: str):
    rows = []
    for name in sorted(namespace.__all__, key=str.lower):
        fn = getattr(namespace, name)
        if not callable(fn) or inspect.isclass(fn) or inspect.ismodule(fn):
            continue
        module = getattr(fn, "__module__", "") or ""
        if not module.startswith("tapegrad.primitives") and prefix == "tg.":
            continue  # engine API (tensor, grad, compile...), documented elsewhere
        rows.append((prefix + name, _kind(name, fn, module)))
    return rows


def generate() -> str:
    """The Markdown between the markers: one table per namespace, and the counts."""
    import tapegrad as tg

    sections = [("`tg`", _rows(tg, "tg.")),
                ("`tg.linalg`", _rows(tg.linalg, "tg.linalg.")),
                ("`tg.fft`", _rows(tg.fft, "tg.fft."))]
    rows = [r for _, rs in sections for r in rs]
    counts = {k: sum(1 for _, kind in rows if kind == k)
              for k in ("primitive", "composition", "no gradient", "constructor")}
    out = [f"{len(rows)} functions: " + ", ".join(f"{n} {k}" for k, n in counts.items())
           + f"; {len(tg.registry)} registered primitives.", ""]
    for title, rs in sections:
        out += [f"### {title}", "", "| function | differentiated as |", "|---|---|"]
        out += [f"| `{name}` | {kind} |" for name, kind in rs]
        out.append("")
    return "\n".join(out)


def splice(text: str, body: str) -> str:
    """``text`` with the generated block replaced by ``body``."""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{PAGE.name} lacks the generated-block markers")
    return pattern.sub(lambda _: BEGIN + "\n\n" + body + "\n" + END, text)


if __name__ == "__main__":
    PAGE.write_text(splice(PAGE.read_text(), generate()))
    sys.stdout.write(f"wrote {PAGE}\n")
