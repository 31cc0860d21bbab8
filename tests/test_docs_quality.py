"""The built documentation reads well: no raw Sphinx roles, no builtin docstrings on
dunders, wide tables that scroll, a legible program picture, a performance page without
stale hashes, the tour's files where it says, and every tg.nn / tg.optim name
documented.

The site is built once for this module (``mkdocs build --strict``, a few seconds).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ROLES = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_no_raw_sphinx_roles_anywhere(site):
    for page in site.rglob("*.html"):
        found = ROLES.findall(_text(page.read_text()))
        assert not found, f"{page.relative_to(site)} shows {len(found)} raw roles"


def test_roles_become_links_on_the_api_page(site):
    api = (site / "api" / "index.html").read_text()
    # tensor()'s docstring refers to :func:`set_default_dtype`
    assert ('<a href="#tapegrad._config.set_default_dtype"><code>set_default_dtype</code></a>'
            in api)


def test_api_page_shows_no_builtin_docstrings_or_dunders(site):
    api = (site / "api" / "index.html").read_text()
    text = _text(api)
    for builtin in (int, str, float, bool, tuple, list, dict, object, type):
        first = (builtin.__doc__ or "").strip().splitlines()[0]
        assert first and first not in text, f"the API page shows {builtin.__name__}()'s " \
                                            f"docstring: {first!r}"
    for phrase in ("Return self", "Initialize self", "Create and return a new object"):
        assert phrase not in text, phrase
    dunders = re.findall(r'id="(tapegrad\.[\w.]*\.__\w+__)"', api)
    assert not dunders, dunders


def test_api_page_documents_nn_and_optim(site):
    import tapegrad as tg

    api = (site / "api" / "index.html").read_text()
    shown = set(re.findall(r'id="(tapegrad\.[\w.]+)"', api))
    for name in tg.nn.__all__:
        assert f"tapegrad.nn.{name}" in shown, name
    for name in tg.optim.__all__:
        assert any(s.endswith(f".{name}") and "optim" in s for s in shown), name
    assert "tapegrad.tape.Tape.jacobian" in shown


def test_wide_tables_scroll_and_the_picture_is_legible(site):
    css = (site / "css" / "extra.css").read_text()
    rule = re.search(r"\.md-typeset table:not\(\[class\]\)\s*\{([^}]*)\}", css)
    assert rule and "overflow-x: auto" in rule.group(1) and "display: block" in rule.group(1)
    perf = (site / "performance" / "index.html").read_text()
    assert "css/extra.css" in perf
    home = (site / "index.html").read_text()
    # The MLP program is shown at its own width inside a scrolling box, and linked.
    picture = re.search(r'<div class="scroll-picture"><a href="img/mlp_backward.svg">'
                        r'<img src="img/mlp_backward.svg"[^>]*width="(\d+)"', home)
    assert picture, "the home page's program picture lost its scrolling full-size layout"
    svg = (DOCS / "img" / "mlp_backward.svg").read_text()[:2000]
    natural = float(re.search(r'width="([\d.]+)pt"', svg).group(1))
    assert int(picture.group(1)) >= natural * 0.9
    assert "max-width: none" in css


def test_performance_page_layout():
    text = (DOCS / "performance.md").read_text()
    assert not re.search(r"commit `?[0-9a-f]{7,40}`?", text), "a stale commit hash"
    heads = re.findall(r"^(#{2,3}) (.+)$", text, re.M)
    names = [h for _, h in heads]
    for want in ("How to run it", "The latest run", "On a GPU", "Profiling history"):
        assert want in names, want
    assert names.index("Profiling history") > names.index("The latest run")
    latest = text.split("## The latest run", 1)[1].split("## On a GPU", 1)[0]
    assert "**How it was measured.**" in latest
    assert "profile showed" not in latest and "used to read" not in latest
    history = text.split("## Profiling history", 1)[1]
    assert "profile showed" in history


def test_training_page_is_in_the_nav_and_linked():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^\s+- Training a model: training\.md$", nav, re.M)
    assert "docs/training.md" in (ROOT / "README.md").read_text()
    assert "(training.md)" in (DOCS / "index.md").read_text()


def test_readme_says_what_each_extra_adds():
    import tomllib

    readme = (ROOT / "README.md").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    table = readme.split("### What each extra adds", 1)[1].split("\n## ", 1)[0]
    for extra in extras:
        assert f"| `{extra}` |" in table, extra
    assert "optional cross-checks" in table
    assert re.search(r"The default test run takes about \S+ minutes", readme)


def test_tape_jacobian_is_in_the_tensorflow_docs():
    text = (DOCS / "tape.md").read_text()
    assert "GradientTape.jacobian" in text and "t.jacobian(" in text and "tg.jacobian" in text


def test_tour_writes_its_pictures_where_it_says(tmp_path, monkeypatch, capsys):
    import tapegrad as tg
    from tapegrad import _tour

    monkeypatch.setattr(_tour, "TOUR_DIR", tmp_path / "tour")
    x = tg.tensor(2.0, requires_grad=True)
    _tour._write_picture(tg.viz.graph(x * x), "seed_graph", "tg.viz.graph(y)")
    out = capsys.readouterr().out
    said = re.search(r"\.render\('([^']+)'\)", out).group(1)
    wrote = re.search(r"^wrote (\S+) ", out, re.M).group(1)
    assert said == wrote and Path(wrote).is_file()
    assert Path(wrote).parent == tmp_path / "tour"
    assert "digraph" in Path(wrote).read_text() or wrote.endswith(".svg")


def test_tour_ends_by_pointing_to_the_docs(capsys):
    from tapegrad import _tour

    _tour.where_next()
    out = capsys.readouterr().out
    pages = re.findall(r"^\s+(docs/\S+\.md)", out, re.M)
    assert "docs/index.md" in pages and "docs/training.md" in pages
    for page in pages:
        assert (ROOT / page).is_file(), page
    assert "mkdocs serve" in out
    import inspect

    body = inspect.getsource(_tour.tour)
    assert body.rstrip().endswith("where_next()")
