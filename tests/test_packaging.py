"""What an installed tapegrad holds: every package of the source tree, once."""

from __future__ import annotations

import importlib
import pathlib

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = None

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _declared() -> list[str]:
    if tomllib is None:
        pytest.skip("reading pyproject.toml needs tomllib (Python 3.11+)")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["packages"]


def _source_packages() -> set[str]:
    found = set()
    for top, name in (("tapegrad", "tapegrad"), ("compiler", "tapegrad.compiler")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    return found


def test_every_package_of_the_tree_is_installed():
    # A package missing from the list is missing from the wheel (tapegrad.bench was).
    assert set(_declared()) == _source_packages()
    for name in _declared():
        importlib.import_module(name)


def test_the_package_is_importable_under_one_name_only():
    # No search-path trick makes the checkout's tapegrad/ a second package.
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("tapegrad.tapegrad")
    import tapegrad.compiler

    assert pathlib.Path(tapegrad.compiler.__file__).parent == ROOT / "compiler"
