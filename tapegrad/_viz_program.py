"""``tg.viz.program(compiled_fn, *args)``: a picture of a compiled program.

One box per equation of the optimised program (the one ``tg.compile`` runs for these
arguments), in program order; a fused group of elementwise equations is a shaded
cluster with its body inside. Each box says what it computes, which values die after
it (``free``) and whose dead buffer it writes into (``into``): the memory plan the
generated code follows. Values *saved* for later — kept alive while other equations
run, like the forward activations a backward pass reads — are drawn with thick orange
edges. Values are numbered locally (``%0`` is the first input), so pictures are
reproducible.
"""

from __future__ import annotations

from typing import Any

from ._dot import Diagram, digraph, type_str

_SAVED = 'color="#e8590c", penwidth=2'


def draw_program(compiled_fn: Any, *args: Any, **kwargs: Any) -> Diagram:
    """See :func:`tapegrad.viz.program`."""
    from tapegrad.backend import NUMPY, backend_of
    from tapegrad.compiler.backends import lowering_for
    from tapegrad.compiler.codegen import prepared
    from tapegrad.compiler.export import _argument_names
    from tapegrad.compiler.ir import FusedKernel
    from tapegrad.compiler.pipeline import build

    built = build(compiled_fn.fn, args, kwargs, static_argnums=compiled_fn.static_argnums,
                  options=compiled_fn.options)
    low, opt, tr = built.lowered, built.optimized, built.trace
    # The lowering tg.compile picks for these arguments, and the plan its code follows.
    be = backend_of(tr.inputs[0].data) if tr.inputs else NUMPY
    lowering = lowering_for(be, numexpr=compiled_fn.options.get("numexpr", "auto"),
                            device=getattr(tr.inputs[0].data, "device", None)
                            if tr.inputs else None)
    g, plan = prepared(opt.graph, lowering)
    n_results = low.n_results

    num: dict = {}  # Var -> local number

    def name(v) -> str:
        if v not in num:
            num[v] = len(num)
        return f"%{num[v]}"

    for v in g.inputs:
        name(v)

    chosen = {**plan.reuse, **plan.inplace}
    dies = {i: list(vs) for i, vs in enumerate(plan.frees) if vs}

    arg_names = {k: v for k, v in _argument_names(compiled_fn, g, args, set()).items()}
    nodes, edges, clusters = [], [], {}
    producer: dict = {}  # Var -> (node id, eqn index)
    for k, v in enumerate(g.inputs):
        label = arg_names.get(f"v{v.id}", "")
        nodes.append((f"i{k}", "\n".join(filter(None, [label, f"{name(v)}  "
                                                         f"{type_str(v.shape, v.dtype)}"])),
                      "leaf"))
        producer[v] = (f"i{k}", -1)

    def saved(v, use_at: int) -> bool:
        src = producer.get(v)
        return src is not None and src[1] >= 0 and use_at > src[1] + 1

    def notes(i: int) -> list[str]:
        out = []
        if i in chosen:
            out.append(f"into {name(chosen[i])}'s buffer")
        if i in dies:
            out.append("free " + " ".join(name(v) for v in dies[i]))
        return out

    for i, e in enumerate(g.eqns):
        if isinstance(e.prim, FusedKernel):
            body = e.prim.body
            inner: dict = dict(zip(body.inputs, e.inputs))
            members = []
            for j, be in enumerate(body.eqns):
                nid = f"e{i}_{j}"
                members.append(nid)
                outv = be.outputs[0]
                nodes.append((nid, f"{be.prim.name}\n{type_str(outv.shape, outv.dtype)}",
                              "record"))
                for a in be.inputs:
                    src = inner.get(a, a)
                    if src in producer:
                        attrs = _SAVED if saved(src, i) else ""
                        edges.append((producer[src][0], nid, attrs))
                for v in be.outputs:
                    producer[v] = (nid, i)
                    inner[v] = v
            for v_out, b_out in zip(e.outputs, body.outputs):
                producer[v_out] = producer.get(b_out, (members[-1], i))
            head = " ".join(name(v) for v in e.outputs)
            clusters[f"g{i}"] = ("\n".join([f"{head} = fused ({len(body.eqns)} ops)",
                                            *notes(i)]), members)
            continue
        nid = f"e{i}"
        outv = e.outputs[0] if e.outputs else None
        head = " ".join(name(v) for v in e.outputs) + f" = {e.prim.name}"
        typ = type_str(outv.shape, outv.dtype) if outv is not None else ""
        nodes.append((nid, "\n".join([head, typ, *notes(i)]), "record"))
        for a in e.inputs:
            if a in producer:
                edges.append((producer[a][0], nid, _SAVED if saved(a, i) else ""))
        for v in e.outputs:
            producer[v] = (nid, i)

    for k, a in enumerate(g.outputs[:n_results]):
        oid = f"o{k}"
        nodes.append((oid, f"result {k}", "output"))
        if a in producer:
            edges.append((producer[a][0], oid, ""))
    edges = list(dict.fromkeys(edges))  # ``multiply %3 %3`` is one arrow
    title = f"{compiled_fn.__name__}: {len(g.eqns)} equations (thick orange: saved values)"
    return Diagram(digraph(nodes, edges, title, clusters))
