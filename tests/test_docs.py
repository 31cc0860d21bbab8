"""Every code example in docs/*.md runs, so the documentation cannot rot.

A page's fenced ``python`` and ``pycon`` blocks run in order in one namespace, like the
cells of a notebook (a later block may use names from an earlier one), in a temporary
working directory. A block with ``>>>`` prompts is a doctest: its printed outputs must
match (``...`` matches anything, whitespace is normalised). Other blocks are executed
and check themselves with ``assert``. A block right after an ``<!-- no-test -->`` line
is shown but not run (for the rare example that needs something the tests lack).

Pages are collected when they exist; ``mkdocs build --strict`` runs too when MkDocs is
installed, and the committed pictures must match what tapegrad draws today.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>```+|~~~+)\s*(?P<info>[^\n]*)$")
SKIP = "<!-- no-test -->"


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """``(first line number, language, code)`` of each fenced block to run."""
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        lang = m["info"].split()[0].lstrip("{.").rstrip("}") if m["info"].strip() else ""
        skip = i > 0 and lines[i - 1].strip() == SKIP
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        i += 1
        if lang in ("python", "py", "pycon") and not skip:
            blocks.append((start + 1, lang, "\n".join(body) + "\n"))
    return blocks


def _run_doctest(code: str, ns: dict, name: str, path: Path, line: int) -> None:
    parser = doctest.DocTestParser()
    test = doctest.DocTest(parser.get_examples(code), ns, name, str(path), line - 1, code)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    ns.update(test.globs)  # DocTest ran on a copy of the namespace
    if runner.failures:
        pytest.fail(f"{path.name}, block at line {line}:\n" + "".join(report), pytrace=False)


def run_page(path: Path) -> None:
    """Run every example of one page, in order, in one namespace."""
    ns: dict = {"__name__": f"docs.{path.stem}"}
    for line, lang, code in code_blocks(path.read_text()):
        if lang == "pycon" or re.search(r"^>>> ", code, re.M):
            _run_doctest(code, ns, f"{path.name}:{line}", path, line)
        else:
            # Pad so tracebacks show the line numbers of the Markdown file.
            exec(compile("\n" * (line - 1) + code, str(path), "exec"), ns)  # noqa: S102


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    run_page(page)


def test_block_extraction() -> None:
    text = ("intro\n```python\nx = 1\n```\n<!-- no-test -->\n```python\nboom()\n```\n"
            "```bash\nls\n```\n```pycon\n>>> 1 + 1\n2\n```\n")
    blocks = code_blocks(text)
    assert [(lang, code) for _, lang, code in blocks] == [
        ("python", "x = 1\n"), ("pycon", ">>> 1 + 1\n2\n")]
    assert blocks[0][0] == 3


def test_a_wrong_output_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="Expected"):
        _run_doctest(">>> 1 + 1\n3\n", {}, "t", Path("t.md"), 1)


def test_pictures_match_the_code() -> None:
    spec = importlib.util.spec_from_file_location("docs_pictures", DOCS / "pictures.py")
    pictures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pictures)
    for name, make in pictures.PICTURES.items():
        committed = (DOCS / "img" / f"{name}.dot").read_text()
        assert make().source == committed, (
            f"docs/img/{name}.dot is stale: run `python docs/pictures.py`")
        assert (DOCS / "img" / f"{name}.svg").exists()


def test_mkdocs_build_strict(tmp_path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "index.html").exists()
    # The API reference covers every public name: tapegrad's (the operations of every
    # family, new ones included) and, in a hand-written table, tapegrad.compiler's.
    import tapegrad.compiler

    import tapegrad as tg

    api = (tmp_path / "site" / "api" / "index.html").read_text()
    shown = {i.rsplit(".", 1)[-1] for i in re.findall(r'id="tapegrad\.([\w.]+)"', api)}
    public = [n for n in tg.__all__ if callable(getattr(tg, n))]
    lost = [n for n in public if not _resolvable(getattr(tg, n))]
    assert not lost, f"the reference generator cannot find {lost} in their __module__"
    missing = [n for n in public if n not in shown]
    assert not missing, f"docs/api.md does not show {missing}"
    page = (DOCS / "api.md").read_text()
    missing = [n for n in tapegrad.compiler.__all__ if f"`{n}" not in page]
    assert not missing, f"docs/api.md's tapegrad.compiler table lacks {missing}"


def _resolvable(obj) -> bool:
    """Whether the reference generator can find ``obj``: its ``__module__`` must define it
    under its ``__name__`` (a function made in one module for another is dropped)."""
    mod = sys.modules.get(getattr(obj, "__module__", None) or "")
    return getattr(mod, getattr(obj, "__name__", ""), None) is obj


def _modules_with_examples() -> list[str]:
    import pkgutil

    import tapegrad.compiler

    import tapegrad

    names = ["tapegrad"]
    for root, pkg in ((tapegrad.__path__, "tapegrad"), (tapegrad.compiler.__path__,
                                                         "tapegrad.compiler")):
        for info in pkgutil.walk_packages(root, pkg + "."):
            if not info.name.split(".")[-1].startswith("__"):
                names.append(info.name)
    return names


@pytest.mark.parametrize("module", _modules_with_examples())
def test_docstring_examples_run(module: str) -> None:
    """The ``>>>`` examples in docstrings print what they say (as on the doc pages)."""
    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(mod, module):
        runner.run(test)
    assert runner.failures == 0, f"{module}: {runner.failures} docstring example(s) failed"


def _renumber_values(source: str) -> str:
    """``v23``-style names numbered in order of first appearance (codegen's own numbers
    depend on the order values were traced in)."""
    names: dict[str, str] = {}
    return re.sub(r"\bv\d+\b", lambda m: names.setdefault(m.group(0), f"v{len(names)}"),
                  source)


def test_compiler_page_shows_the_current_stages() -> None:
    """docs/compiler.md's printed IR stages and program are what the compiler produces."""
    from tapegrad.compiler.ir import pp_graph

    text = (DOCS / "compiler.md").read_text()
    ns: dict = {}
    exec(next(code for _, lang, code in code_blocks(text) if lang == "python"), ns)
    fast = ns["fast"]  # the page's first example, compiled and called
    stages = list(fast.latest().info["optimized"].stages)
    blocks = re.findall(r"```text\n(.*?)```", text, re.S)
    shown = [b for b in blocks if re.match(r"-- \w+ \(\d+ eqns\) --", b)]
    assert shown, "docs/compiler.md prints no stages"
    for block in shown:
        name = block.split()[1]
        while stages and stages[0].name != name:
            stages.pop(0)
        assert stages, f"docs/compiler.md shows a stage {name!r} the compiler did not run"
        s = stages.pop(0)
        want = f"-- {s.name} ({len(s.graph.eqns)} eqns) --\n{pp_graph(s.graph, renumber=True)}"
        assert block.strip() == want.strip(), f"docs/compiler.md: stage {name} is stale"
    source = [b for b in blocks if b.startswith("def _make_program")]
    assert len(source) == 1
    assert _renumber_values(source[0].strip()) == _renumber_values(fast.source.strip())
