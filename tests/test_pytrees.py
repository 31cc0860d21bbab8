"""Pytrees: one implementation (tapegrad.pytree) for the transforms, tg.compile and
export, checked against jax.tree_util: leaf order, structure equality, gradients.

Every kind of node (tuple, list, dict, OrderedDict, namedtuple, a dataclass registered
with tg.register_dataclass, a class registered with tg.register_pytree_node), None
leaves and nesting; eagerly (grad, value_and_grad, vjp, jvp), compiled, and exported.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from collections import OrderedDict, namedtuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_transforms import _close  # pytrees of tensors against jax's

import tapegrad as tg

RNG = np.random.default_rng(7)
TOL = dict(rtol=1e-9, atol=1e-10)

Pair = namedtuple("Pair", ["w", "b"])
Swapped = namedtuple("Swapped", ["w", "b"])  # the same fields, another class


@dataclasses.dataclass
class Layer:
    w: object
    b: object
    act: str = dataclasses.field(default="tanh", metadata=dict(static=True))


tg.register_dataclass(Layer)
jax.tree_util.register_dataclass(Layer)


class Scaled:
    """A class registered with register_pytree_node: children (v,), static data scale."""

    def __init__(self, v, scale):
        self.v, self.scale = v, scale


def _scaled_flatten(s):
    return (s.v,), s.scale


def _scaled_unflatten(scale, kids):
    return Scaled(kids[0], scale)


tg.register_pytree_node(Scaled, _scaled_flatten, _scaled_unflatten)
jax.tree_util.register_pytree_node(Scaled, _scaled_flatten, _scaled_unflatten)


@dataclasses.dataclass
class Unregistered:  # not a node: a leaf, as in JAX
    n: int


def _a(*shape):
    return RNG.standard_normal(shape)


def _trees():
    """One tree per kind of node (arrays at the leaves), with None and nesting."""
    return {
        "tuple": (_a(3), _a(2)),
        "list": [_a(3), None, _a(2)],
        "dict": {"b": _a(2), "a": _a(3), "none": None},
        "ordered": OrderedDict([("b", _a(2)), ("a", _a(3))]),
        "namedtuple": Pair(_a(3), _a(2)),
        "dataclass": Layer(_a(3), _a(2), act="sin"),
        "custom": Scaled([_a(3), (_a(2),)], 2.0),
        "nested": {"layers": [Layer(_a(3), _a(2)), Pair(_a(3), None)],
                   "extra": (OrderedDict(z=_a(2)), [Scaled(_a(3), 0.5)])},
    }


KINDS = list(_trees())


def _loss(lib):
    """The same scalar function of any of the trees, for tapegrad and jax."""
    def loss(tree):
        total = 0.0
        for k, leaf in enumerate(jax.tree_util.tree_leaves(tree) if lib is jnp
                                 else tg.tree_leaves(tree)):
            total = total + lib.sum(lib.sin(leaf) * leaf) * (k + 1)
        return total
    return loss




# -- flattening against jax.tree_util ---------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_leaves_order_and_round_trip_match_jax(kind):
    tree = _trees()[kind]
    leaves, treedef = tg.tree_flatten(tree)
    want = jax.tree_util.tree_leaves(tree)
    assert len(leaves) == len(want) == treedef.num_leaves
    assert all(a is b for a, b in zip(leaves, want))
    back = tg.tree_unflatten(treedef, leaves)
    assert type(back) is type(tree)
    assert jax.tree_util.tree_structure(back) == jax.tree_util.tree_structure(tree)
    assert all(a is b for a, b in zip(jax.tree_util.tree_leaves(back), want))


def test_structure_equality_matches_jax():
    a, b = _trees(), _trees()  # same structures, other values
    other = {
        "tuple": [_a(3), _a(2)],  # a list, not a tuple
        "dict": {"b": _a(2), "c": _a(3), "none": None},  # another key
        "ordered": OrderedDict([("a", _a(3)), ("b", _a(2))]),  # another order
        "namedtuple": Swapped(_a(3), _a(2)),  # another class
        "dataclass": Layer(_a(3), _a(2), act="tanh"),  # another static field
        "custom": Scaled([_a(3), (_a(2),)], 3.0),  # other aux data
        "list": [_a(3), _a(1), _a(2)],  # a leaf where None was
        "nested": {"layers": [Layer(_a(3), _a(2)), Pair(_a(3), _a(1))],
                   "extra": (OrderedDict(z=_a(2)), [Scaled(_a(3), 0.5)])},
    }
    for kind in KINDS:
        for x, y in ((a[kind], b[kind]), (a[kind], other[kind])):
            tg_eq = tg.tree_structure(x) == tg.tree_structure(y)
            jax_eq = jax.tree_util.tree_structure(x) == jax.tree_util.tree_structure(y)
            assert tg_eq == jax_eq, kind
            assert (hash(tg.tree_structure(x)) == hash(tg.tree_structure(y))) or not tg_eq
        assert tg.tree_structure(a[kind]) != tg.tree_structure(other[kind])


def test_unregistered_objects_and_none_are_as_in_jax():
    for tree in (Unregistered(3), [Unregistered(1), None, (None,)], {"a": None},
                 Pair(None, 1.0), (1, "s", None)):
        assert tg.tree_leaves(tree) == jax.tree_util.tree_leaves(tree)
        assert tg.tree_structure(tree).num_leaves == jax.tree_util.tree_structure(
            tree).num_leaves
    want = "PyTreeDef(CustomNode(Layer[('tanh',)], [*, *]))"
    assert repr(tg.tree_structure(Layer(1, 2))) == repr(jax.tree_util.tree_structure(
        Layer(1, 2))) == want


def test_registration_errors_name_the_problem():
    with pytest.raises(ValueError, match="register_pytree_node: list is already"):
        tg.register_pytree_node(list, _scaled_flatten, _scaled_unflatten)
    with pytest.raises(ValueError, match="register_dataclass: Layer is already"):
        tg.register_dataclass(Layer)
    with pytest.raises(TypeError, match="register_dataclass: .*not a dataclass"):
        tg.register_dataclass(Scaled)
    with pytest.raises(TypeError, match="register_pytree_node: expected a class"):
        tg.register_pytree_node(Scaled(1, 2), _scaled_flatten, _scaled_unflatten)

    @dataclasses.dataclass
    class Half:
        w: object
        n: int

    with pytest.raises(ValueError, match=r"register_dataclass: .*\['n'\] are none"):
        tg.register_dataclass(Half, data_fields=["w"], meta_fields=[])
    tg.register_dataclass(Half, data_fields=["w"], meta_fields=["n"])
    leaves, treedef = tg.tree_flatten(Half(np.ones(2), 4))
    assert len(leaves) == 1 and tg.tree_unflatten(treedef, [5]) == Half(5, 4)


# -- eager transforms against jax -------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_grad_and_value_and_grad_match_jax(kind):
    tree = _trees()[kind]
    got = tg.grad(_loss(tg))(tree)
    _close(got, jax.grad(_loss(jnp))(tree))
    assert type(got) is type(tree)
    v, g = tg.value_and_grad(_loss(tg))(tree)
    jv, jg = jax.value_and_grad(_loss(jnp))(tree)
    np.testing.assert_allclose(v.numpy(), jv, **TOL)
    _close(g, jg)


def _map(lib):
    """A tree-to-tree function, for vjp and jvp."""
    def f(tree):
        mapped = jax.tree_util.tree_map if lib is jnp else tg.tree_map
        return mapped(lambda v: lib.sin(v) * v, tree)
    return f


@pytest.mark.parametrize("kind", KINDS)
def test_vjp_and_jvp_match_jax(kind):
    tree, ct = _trees()[kind], _trees()[kind]
    out, pull = tg.vjp(_map(tg), tree)
    jout, jpull = jax.vjp(_map(jnp), tree)
    _close(out, jout)
    _close(pull(ct), jpull(ct))
    _close(tg.jvp(_map(tg), (tree,), (ct,)), jax.jvp(_map(jnp), (tree,), (ct,)))


# -- compiled ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_compiled_grad_matches_jax_and_reuses_its_program(kind):
    fast = tg.compile(tg.grad(_loss(tg)))
    for _ in range(2):  # new values, same structure: one program
        tree = _trees()[kind]
        got = fast(tree)
        assert type(got) is type(tree)
        _close(got, jax.grad(_loss(jnp))(tree))
    assert fast.recompiles == ["first call"]
    v, g = tg.compile(tg.value_and_grad(_loss(tg)))(tree)
    jv, jg = jax.value_and_grad(_loss(jnp))(tree)
    np.testing.assert_allclose(v.numpy(), jv, **TOL)
    _close(g, jg)


def test_namedtuple_params_compile():
    def loss(p, x):
        return tg.sum((x @ p.w + p.b) ** 2)

    def jloss(p, x):
        return jnp.sum((x @ p.w + p.b) ** 2)

    p, x = Pair(_a(3, 2), _a(2)), _a(4, 3)
    want = jax.grad(jloss)(p, x)
    _close(tg.grad(loss)(p, x), want)
    _close(tg.compile(tg.grad(loss))(p, x), want)


def _order_sensitive(lib):
    """Depends on leaf order, node class and static data: a reused program is wrong."""
    def loss(tree):
        leaves = jax.tree_util.tree_leaves(tree) if lib is jnp else tg.tree_leaves(tree)
        flat = lib.concatenate([lib.reshape(v, (-1,)) for v in leaves])
        weights = lib.arange(flat.shape[0]) + 1.0
        if isinstance(tree, (Swapped, Layer)) and getattr(tree, "act", "sin") == "sin":
            flat = lib.sin(flat)
        if isinstance(tree, Scaled):
            flat = flat * tree.scale
        return lib.sum(weights * flat ** 2)
    return loss


def test_a_new_structure_recompiles_instead_of_reusing_a_program():
    w, b = _a(3), _a(2)
    calls = [
        Pair(w, b), Swapped(w, b),  # same leaves, another namedtuple class
        (w, b), [w, b], (b, w),  # tuple, list, and another leaf order
        {"a": w, "b": b}, {"a": w, "c": b},  # another key
        OrderedDict(a=w, b=b), OrderedDict(b=b, a=w),  # another key order
        Layer(w, b, act="sin"), Layer(w, b, act="tanh"),  # another static field
        Scaled(w, 2.0), Scaled(w, 3.0),  # other aux data
        (w, None, b), (w, b, None),  # None in another place
    ]
    fast = tg.compile(tg.grad(_order_sensitive(tg)))
    for tree in calls + calls:
        got = fast(tree)
        assert type(got) is type(tree)
        _close(got, jax.grad(_order_sensitive(jnp))(tree))
    assert len(fast.recompiles) == len(calls)  # each structure once, then reused
    assert "structure PyTreeDef(Pair(*, *)) -> PyTreeDef(Swapped(*, *))" in fast.recompiles[1]
    assert "Layer[('tanh',)]" in fast.recompiles[10]


def test_static_leaves_are_part_of_the_key():
    def f(tree):
        return tree["x"] * tree["k"]

    fast = tg.compile(f)
    x = _a(3)
    for k in (2.0, 3.0, 2.0):
        np.testing.assert_allclose(fast({"x": x, "k": k}).numpy(), x * k, **TOL)
    assert len(fast.recompiles) == 2 and "leaf 0 static value 2.0 -> 3.0" in fast.recompiles[1]


def test_compiled_function_returning_pytrees():
    def f(tree):
        return {"pair": Pair(tree.w * 2.0, None), "layer": Layer(tg.sin(tree.b), 1.5, "x"),
                "od": OrderedDict(z=tree.w, a=tree.b), "s": Scaled(tree.w + 1.0, 4)}

    tree = Pair(_a(3), _a(2))
    want, got = f(tree), tg.compile(f)(tree)
    assert tg.tree_structure(got) == tg.tree_structure(want)
    for g, e in zip(tg.tree_leaves(got), tg.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g.numpy() if isinstance(g, tg.Tensor) else g),
                                   np.asarray(e.numpy() if isinstance(e, tg.Tensor) else e))
    assert list(got["od"]) == ["z", "a"]


# -- export -----------------------------------------------------------------------
RUNNER = textwrap.dedent("""
    import dataclasses, importlib.util, json, sys, types
    import numpy as np
    sys.modules["tapegrad"] = None          # any `import tapegrad` now raises ImportError
    spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = np.load(sys.argv[3])
    L = [data[f"a{i}"] for i in range(len(data.files))]
    ns = {"L": L, "types": types, "np": np}
    exec(sys.argv[4], ns)
    out = getattr(mod, sys.argv[2])(*ns["args"])
    leaves, kinds = [], []
    def walk(x):
        kinds.append(type(x).__name__)
        if dataclasses.is_dataclass(x):
            for f in dataclasses.fields(x):
                walk(getattr(x, f.name))
        elif isinstance(x, dict):
            for k in x:
                walk(x[k])
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif x is not None and not isinstance(x, (str, int, float)):  # static: skipped
            assert type(x) is np.ndarray, type(x)
            leaves.append(x)
    walk(out)
    assert not [m for m in sys.modules if m.startswith("tapegrad") and sys.modules[m]]
    np.savez(sys.argv[1] + ".out.npz", *leaves)
    print(json.dumps(kinds))
""")


def _run_exported(path, name, leaves, build, tmp_path):
    np.savez(tmp_path / "args.npz", **{f"a{i}": v for i, v in enumerate(leaves)})
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(path), name,
                           str(tmp_path / "args.npz"), build],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = np.load(f"{path}.out.npz")
    return [out[f"arr_{i}"] for i in range(len(out.files))], json.loads(proc.stdout)


def _layer_loss(lib):
    def loss(params, x):
        h = lib.tanh(x @ params["layer"].w + params["layer"].b)
        return lib.sum((h @ params["head"].w + params["head"].b) ** 2) + lib.sum(
            params["od"]["z"] ** 2)
    return loss


def test_export_of_a_gradient_over_dataclass_namedtuple_and_ordered_dict(tmp_path):
    params = {"layer": Layer(_a(3, 4), _a(4)), "head": Pair(_a(4, 2), _a(2)),
              "od": OrderedDict(z=_a(2)), "unused": None}
    x = _a(5, 3)
    fast = tg.compile(tg.grad(_layer_loss(tg)))
    path = fast.export(tmp_path / "g.py", params, x)
    text = path.read_text()
    assert "import tapegrad" not in text and "import numpy as np" in text
    # The exported function takes the same kinds of objects (by attribute, index, key)
    build = ("args = ({'layer': types.SimpleNamespace(w=L[0], b=L[1]), 'head': (L[2], L[3]),"
             " 'od': {'z': L[4]}, 'unused': None}, L[5])")
    leaves = [params["layer"].w, params["layer"].b, params["head"].w, params["head"].b,
              params["od"]["z"], x]
    got, kinds = _run_exported(path, "grad_loss", leaves, build, tmp_path)
    # sorted keys, as in jax: head (a Pair), layer (a Layer), od, unused (None)
    assert kinds == ["dict", "Pair", "ndarray", "ndarray", "Layer", "ndarray", "ndarray",
                     "str", "OrderedDict", "ndarray", "NoneType"]
    want = jax.grad(_layer_loss(jnp))(params, x)
    compiled = fast(params, x)
    want_leaves = [np.asarray(v) for v in jax.tree_util.tree_leaves(want)]
    assert len(got) == len(want_leaves) == len(tg.tree_leaves(compiled))
    for g, w, c in zip(got, want_leaves, tg.tree_leaves(compiled)):
        np.testing.assert_allclose(g, w, **TOL)
        np.testing.assert_allclose(g, c.numpy(), rtol=1e-12, atol=1e-14)


def test_export_of_dict_and_list_trees_needs_no_wrapper(tmp_path):
    params = {"w": _a(3), "bs": [_a(3), _a(3)]}
    def loss(lib):
        def loss(p):
            return lib.sum(p["w"] * p["bs"][0] * p["bs"][1])
        return loss

    fast = tg.compile(tg.grad(loss(tg)))
    path = fast.export(tmp_path / "d.py", params)
    assert "_on_leaves" not in path.read_text()
    got, kinds = _run_exported(path, "grad_loss", [params["bs"][0], params["bs"][1],
                                                   params["w"]],
                               "args = ({'w': L[2], 'bs': [L[0], L[1]]},)", tmp_path)
    assert kinds == ["dict", "list", "ndarray", "ndarray", "ndarray"]
    for g, w in zip(got, jax.tree_util.tree_leaves(jax.grad(loss(jnp))(params))):
        np.testing.assert_allclose(g, np.asarray(w), **TOL)


def test_export_refuses_a_register_pytree_node_class(tmp_path):
    fast = tg.compile(tg.grad(_loss(tg)))
    with pytest.raises(NotImplementedError, match="export: .*Scaled, registered with "
                                                  "tg.register_pytree_node"):
        fast.export(tmp_path / "s.py", Scaled(_a(3), 2.0))
