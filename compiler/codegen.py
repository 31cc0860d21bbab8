"""Code generation: an optimised :class:`Graph` becomes straight-line Python.

One statement per equation (a fused group is one call), and every function or constant
the program calls bound once as a closure variable. Memory is the plan's
(:func:`~.passes.memory.plan_memory`, made for the lowering that generates the code, on
the graph after the lowering's ``prepare``, for the program and for each fused
helper): codegen emits its ``del`` statements and ``out=`` buffers exactly, deciding
nothing itself. The source is registered with :mod:`linecache`, so tracebacks and
``inspect.getsource`` show the generated program, as ``torch.fx`` does.

How an equation becomes a statement depends on the array library: a *lowering*
(``LOWERINGS["numpy"]`` in :mod:`.numpy_lowering`; any other namespace falls back to
calling each primitive's ``impl``) turns one equation into one expression.
"""

from __future__ import annotations

import itertools
import keyword
import linecache
import math
import re
from typing import Any, NamedTuple

import numpy as np

from tapegrad.tensor import _make

from .ir import Graph, Lit, MemoryPlan, Var
from .lint import check_plan
from .parts import in_parts, may_split
from .passes.memory import keep_all, plan_memory

_program_ids = itertools.count()


class Program(NamedTuple):
    """Generated code: ``fn(*arrays)``, its source, and the graph and plan it runs."""

    fn: Any
    source: str
    filename: str
    notes: tuple  # one line per fused group: how it was lowered and why
    graph: Graph | None = None  # after the lowering's ``prepare``
    plan: MemoryPlan | None = None  # the memory plan the code follows


class Emitter:
    """Names values and binds the objects a program calls as closure variables."""

    def __init__(self) -> None:
        self.consts: dict[str, Any] = {}
        self._by_id: dict[int, str] = {}
        self._next: dict[str, int] = {}  # base name -> next suffix to try
        self.helpers: list[str] = []  # source of helper functions (fused kernels)
        self.notes: list[str] = []
        self.arrays: set = set()  # 0-d results known to be arrays (not NumPy scalars)
        self.scalar_wrap: Any = None
        self.constant: Any = None  # host constant -> the backend's (lowering.constant)
        self.check = False  # check every memory plan (fused helpers' too) before emitting

    def bind(self, obj: Any, hint: str) -> str:
        """A closure name for ``obj`` (the same name for the same object)."""
        name = self._by_id.get(id(obj))
        if name is not None:
            return name
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in hint) or "k"
        if base[0].isdigit() or keyword.iskeyword(base) or base in ("np", "T"):
            base = "_" + base
        # Continue numbering where this base left off: linear in the number of names.
        name, n = base, self._next.get(base, 1)
        while name in self.consts:
            name, n = f"{base}_{n}", n + 1
        self._next[base] = n
        self.consts[name] = obj
        self._by_id[id(obj)] = name
        return name

    def value(self, v: Any) -> str:
        """Source text for a parameter or literal value: a literal when exact, else a
        closure constant."""
        t = type(v)
        if v is None or t is bool or t is str or t is int:
            return repr(v)
        if t is float and math.isfinite(v):
            return repr(v)
        if t is tuple and all(x is None or type(x) in (bool, int) for x in v):
            return repr(v)
        return self.bind(v, "c")

    def atom(self, a: Any) -> str:
        """Source text for an equation input."""
        if type(a) is Lit:
            if a.is_scalar:
                return self.value(a.value)
            v = a.value
            if self.constant is not None:
                return self.bind(self.constant(v), "c")
            if self.scalar_wrap is not None and not v.shape:
                v = v[()]  # a NumPy scalar: fast scalar arithmetic, same semantics
            return self.bind(v, "c")
        return name_of(a)


def program_name(name: str, reserved: frozenset | set = frozenset()) -> str:
    """A valid Python name for the program of a function called ``name``
    (``grad(f)`` -> ``grad_f``); a keyword, a leading digit or a ``reserved`` name is
    prefixed: ``<lambda>`` -> ``compiled_lambda``."""
    name = re.sub(r"\W", "_", name).strip("_") or "program"
    if keyword.iskeyword(name) or name[0].isdigit() or name in reserved:
        name = f"compiled_{name}"
    return name


def name_of(v: Var) -> str:
    """The Python name of a variable: ``%12`` is ``v12``."""
    return f"v{v.id}"


# -- statements -----------------------------------------------------------------------
def prepared(graph: Graph, lowering: Any, plan: MemoryPlan | None = None
             ) -> tuple[Graph, MemoryPlan]:
    """The graph code is generated from (after the lowering's ``prepare``) and its
    memory plan: ``plan`` when it was made for this lowering and graph, else a new one.
    """
    prepare = getattr(lowering, "prepare", None)
    if prepare is not None:
        new = prepare(graph)
        if new is not graph:  # backend rewrites (CuPy reduction kernels): plan anew
            graph, plan = new, None
    if plan is None or plan.lowering is not lowering:
        plan = plan_memory(graph, lowering)
    return graph, plan


def _statements(graph: Graph, plan: MemoryPlan, lowering: Any, em: Emitter,
                indent: str, out_param: bool = False, facts: list | None = None
                ) -> list[str]:
    """One line per equation and the ``del`` statements of ``plan``.

    With ``out_param`` the last equation writes into the function's ``out`` parameter
    (the plan chose no buffer for it). ``facts``, when given, receives per line the
    variables it writes, reads (inputs and the ``out=`` buffer) and deletes, for
    :func:`.parts.in_parts`."""
    if em.check:
        check_plan(graph, plan, lowering)
    writes = {**plan.reuse, **plan.inplace}
    outputs = {a for a in graph.outputs if type(a) is Var}
    lines = []
    n = len(graph.eqns)
    for i, e in enumerate(graph.eqns):
        ins = [em.atom(a) for a in e.inputs]
        into = writes.get(i)
        buf = name_of(into) if into is not None else None
        if out_param and i == n - 1:
            buf = "out"
        elif (buf is None and len(e.outputs) == 1 and not e.outputs[0].shape
              and e.outputs[0] in outputs and lowering.supports_out(e)):
            buf = "..."  # a 0-d result as an array, not a NumPy scalar
            em.arrays.add(e.outputs[0])
        rhs = lowering.expr(em, e, ins, buf)
        if getattr(e.prim, "multiple_results", False):
            lhs = ", ".join(name_of(v) for v in e.outputs) + ("," if len(e.outputs) == 1 else "")
        else:
            lhs = name_of(e.outputs[0])
        lines.append(f"{indent}{lhs} = {rhs}")
        if facts is not None:
            facts.append((e.outputs, e.inputs, "out" if buf == "out" else into, ()))
        dead = plan.frees[i]
        if dead:
            lines.append(f"{indent}del {', '.join(name_of(v) for v in dead)}")
            if facts is not None:
                facts.append(((), (), None, dead))
    return lines


def body_source(body: Graph, name: str, lowering: Any, em: Emitter) -> str:
    """Source of a helper function computing a fused group's body."""
    out_param = lowering.supports_out_body(body)
    params = [name_of(v) for v in body.inputs] + (["out=None"] if out_param else [])
    facts = [] if may_split(len(body.eqns)) else None
    plan = plan_memory(body, lowering, into_out=out_param)
    lines = _statements(body, plan, lowering, em, "        ", out_param=out_param,
                        facts=facts)
    outs = [em.atom(a) for a in body.outputs]
    ret = outs[0] if len(outs) == 1 else ", ".join(outs)
    lines = in_parts(lines, facts, body.outputs, name, "        ", em)
    return "\n".join([f"    def {name}({', '.join(params)}):", *lines,
                      f"        return {ret}"])


# -- results --------------------------------------------------------------------------
def _result_expr(structure: Any, atoms: Any, em: Emitter) -> str:
    """Source building the function's return value from the output atoms."""
    from .trace import ARRAY, TENSOR

    if structure is TENSOR or structure is ARRAY:
        a = next(atoms)
        if type(a) is Lit:
            val = em.bind(np.asarray(a.value), "c") + ".copy()"
        elif not a.shape and a not in em.arrays and em.scalar_wrap is not None:
            val = f"{em.bind(em.scalar_wrap, 'asarray')}({name_of(a)})"
        else:
            val = name_of(a)
        if structure is ARRAY:
            return val
        return f"{em.bind(_make, 'tensor_')}({val}, None, 0, False)"
    head = structure[0]
    if head is list or head is tuple:
        items = [_result_expr(s, atoms, em) for s in structure[1]]
        text = ", ".join(items) + ("," if head is tuple and len(items) == 1 else "")
        return f"[{text}]" if head is list else f"({text})"
    if head is dict:
        items = [f"{em.value(k)}: {_result_expr(s, atoms, em)}"
                 for k, s in zip(structure[1], structure[2])]
        return "{" + ", ".join(items) + "}"
    return em.value(structure[2])


def _param_paths(in_structures: tuple) -> tuple[list[str], list[str]]:
    """Parameter names of the program and the expression reaching each array leaf."""
    from .trace import ARRAY, TENSOR

    params, paths = [], []

    def walk(s: Any, path: str) -> None:
        if s is TENSOR:
            paths.append(f"{path}.data")
        elif s is ARRAY:
            paths.append(path)
        elif s[0] is list or s[0] is tuple:
            for k, c in enumerate(s[1]):
                walk(c, f"{path}[{k}]")
        elif s[0] is dict:
            for k, c in zip(s[1], s[2]):
                walk(c, f"{path}[{k!r}]")

    for k, (kind, s) in enumerate(in_structures):
        name = f"p{k}" if kind is None else kind
        params.append(name if kind is None else f"{name}=None")
        if s is not None:
            walk(s, name)
    return params, paths


def _return_text(graph: Graph, out_structure: Any, n_results: int, em: Emitter) -> str:
    outs = list(graph.outputs)
    if out_structure is None:
        return "(" + "".join(em.atom(a) + ", " for a in outs) + ")"
    ret = _result_expr(out_structure, iter(outs[:n_results]), em)
    guards = outs[n_results:]
    if guards:
        ret = f"{ret}, ({''.join(em.atom(a) + ', ' for a in guards)})"
    return ret


def generate(graph: Graph, lowering: Any, *, plan: MemoryPlan | None = None,
             in_structures: tuple = (), out_structure: Any = None, n_results: int = 0,
             name: str = "program", keep: bool = False, check: bool = False) -> Program:
    """Generate the Python program for ``graph``.

    Parameters
    ----------
    graph : Graph
        The optimised graph; its outputs are ``n_results`` results, then guard values.
    lowering : object
        How equations become expressions for this array library.
    plan : MemoryPlan, optional
        The memory plan to emit, made by ``plan_memory(graph, lowering)`` for this
        lowering. Any other (the pipeline's plan from declared facts, or one for the
        graph before the lowering's ``prepare`` rewrote it) is replaced by a new plan.
    in_structures : tuple of (str or None, structure)
        One entry per call argument: its keyword name (None for positional) and its
        pytree structure (None for a static argument, which the program ignores).
    out_structure : object
        The pytree structure of the result; its leaves are the first ``n_results``
        outputs. ``None`` returns the flat list of outputs (for tape programs).
    keep : bool
        Keep every value and return ``locals()`` instead (equation-by-equation checks).
    check : bool
        Check every memory plan with :func:`~.lint.check_plan` before emitting it.

    Returns
    -------
    Program
        The function, its source, the graph it computes and the plan it follows.
    """
    em = Emitter()
    em.scalar_wrap = getattr(lowering, "scalar_wrap", None)
    em.constant = getattr(lowering, "constant", None)
    em.check = check and not keep
    if keep:
        prepare = getattr(lowering, "prepare", None)
        graph = graph if prepare is None else prepare(graph)
        plan = keep_all(graph, lowering)
    else:
        graph, plan = prepared(graph, lowering, plan)
    params, paths = _param_paths(in_structures)
    if not in_structures:
        params = [name_of(v) for v in graph.inputs]
        paths = params
    # A top-level array argument is named after its variable directly.
    for k, (v, p) in enumerate(zip(graph.inputs, paths)):
        if p in params:
            params[params.index(p)] = paths[k] = name_of(v)
    prologue = []
    for v, p in zip(graph.inputs, paths):
        if not v.shape and em.scalar_wrap is not None:
            p = f"{p}[()]"  # 0-d arguments as NumPy scalars
        if name_of(v) != p:
            prologue.append(f"        {name_of(v)} = {p}")
    facts = [] if may_split(len(graph.eqns)) and not keep else None
    body = _statements(graph, plan, lowering, em, "        ", facts=facts)
    if keep:
        ret = "locals()"
    else:
        ret = _return_text(graph, out_structure, n_results, em)
        body = in_parts(body, facts, graph.outputs, name, "        ", em)
    while name in em.consts or name.startswith("fused_"):
        name = f"{name}_program"
    fid = next(_program_ids)
    filename = f"<tapegrad-compiled-{fid}:{name}>"
    consts = sorted(em.consts)
    src = "\n".join([f"def _make_program({', '.join(consts)}):", *em.helpers,
                     f"    def {name}({', '.join(params)}):",
                     *prologue, *body,
                     f"        return {ret}", f"    return {name}", ""])
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns: dict = {}
    exec(compile(src, filename, "exec"), ns)  # noqa: S102 - our own generated source
    fn = ns["_make_program"](**em.consts)
    return Program(fn, src, filename, tuple(em.notes), graph, plan)
