"""The README's example runs and prints the seed chapter's values."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_opens_with_the_two_commands():
    lines = [ln for ln in README.read_text().splitlines() if ln.startswith("python -m pip")]
    assert lines[0] == "python -m pip install . && python -m tapegrad"
    assert lines[1] == 'python -m pip install -e ".[test]" && python -m pytest'
    ci = (README.parent / ".ci" / "run").read_text()
    assert lines[1] in ci


def test_readme_example_runs():
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    printed = out.getvalue().splitlines()
    assert printed[0] == "tensor(-3.4000, grad_fn=<SubBackward1>)"
    assert printed[1] == "tensor(0.8000) tensor(0.8000)"
    # the eager, tape and compiled gradients print the same values
    rest = "\n".join(printed[2:])
    blocks = [b.strip() for b in rest.split("tensor(")[1:]]
    assert len(blocks) == 3 and blocks[0] == blocks[1] == blocks[2]
