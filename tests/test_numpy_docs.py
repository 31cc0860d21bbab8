"""docs/numpy.md lists exactly the functions tapegrad has (generated from the registry)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import tapegrad as tg

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("numpy_functions", DOCS / "numpy_functions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_supported_functions_list_matches_the_registry():
    gen = _generator()
    page = (DOCS / "numpy.md").read_text()
    assert gen.splice(page, gen.generate()) == page, (
        "docs/numpy.md's function list is stale: run `python docs/numpy_functions.py`")


def test_every_primitive_module_function_is_listed():
    body = _generator().generate()
    for name in tg.linalg.__all__:
        assert f"`tg.linalg.{name}`" in body
    for name in ("einsum", "sort", "cumprod", "sinc", "take_along_axis"):
        assert f"`tg.{name}`" in body
