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


def test_compiler_is_importable_from_a_checkout_without_editable_install(tmp_path):
    """``python -m tapegrad`` in the repository root finds tapegrad.compiler too."""
    import subprocess
    import sys

    root = README.parent
    # Drop the editable install's finder, as a plain `pip install .` would not have it.
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path "
            "if '__editable__' not in getattr(f, '__module__', '')]; "
            f"sys.path.insert(0, {str(root)!r}); "
            "import tapegrad, tapegrad.compiler as c; "
            "print(c.__name__, c.__file__.startswith(sys.path[0]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["tapegrad.compiler", "True"]


def test_command_line_help_and_unknown_arguments(capsys):
    """``python -m tapegrad --help`` prints the commands instead of running the tour."""
    from tapegrad.__main__ import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m tapegrad") and "bench" in out and "tour" in out
    assert main(["--no-such-option"]) == 2
    assert "unknown argument '--no-such-option'" in capsys.readouterr().err
