"""Type checkers see tapegrad's annotations: mypy (and pyright, where installed) accept a
user script that uses the tensor API, tg.nn and tg.optim, and mypy still catches a real
mistake in one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USER_SCRIPT = '''
import numpy as np
import tapegrad as tg

x = tg.tensor([1.0, 2.0], requires_grad=True)
w = tg.tensor(np.ones((2, 3)))
y = x * 2.0 + 1
z = x ** 2
a = 2.0 * x
b = x @ w
c = -x
d = x[0]
e = x.sum()
f = w.T
g = (x - 1) / 2 + abs(x) - np.ones(2) * x
mask = (x > 0) & (x < 3)
h: tg.Tensor = tg.nn.relu(b)
p: tg.Tensor = tg.nn.softmax(b, axis=-1).mean(axis=0)
loss = tg.nn.cross_entropy(b, np.array([0, 2])) + tg.nn.mse_loss(y, z)
loss.backward()
x.grad = None
opt = tg.optim.Adam([x], lr=1e-3)
opt.step()
opt.zero_grad()
state_dict = opt.state_dict()
tx = tg.optim.adam(1e-3)
params = {"w": w}
state = tx.init(params)
updates, state = tx.update(params, state, params)
params = tg.optim.apply_updates(params, updates)
with tg.no_grad():
    x -= 0.1 * x
print(float(e), x.shape, e.item(), x.reshape(2, 1), x.mean(axis=0), x.T.exp(), len(x))
'''

MISTAKES = '''
import tapegrad as tg

x = tg.tensor([1.0])
x.no_such_method()
n: int = x + 1
'''


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    if shutil.which("mypy") is None and not _has_module("mypy"):
        pytest.skip("mypy is not installed (it is in the test extra: pip install -e .[test])")
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(source))
    # The package as a user's installed copy is seen: found on mypy's path, its own
    # modules not reported on (follow_imports = silent, what mypy does for an installed
    # package), its annotations used.
    (tmp_path / "mypy.ini").write_text(
        f"[mypy]\nmypy_path = {ROOT}\ncache_dir = {tmp_path / 'cache'}\n"
        "[mypy-tapegrad]\nfollow_imports = silent\n"
        "[mypy-tapegrad.*]\nfollow_imports = silent\n")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(tmp_path / "mypy.ini"),
         str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "MYPYPATH"})


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_package_ships_py_typed():
    assert (ROOT / "tapegrad" / "py.typed").is_file()
    text = (ROOT / "pyproject.toml").read_text()
    assert '"tapegrad" = ["py.typed"]' in text


def test_mypy_accepts_a_user_script(tmp_path):
    proc = _mypy(tmp_path, USER_SCRIPT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_mypy_still_catches_mistakes(tmp_path):
    proc = _mypy(tmp_path, MISTAKES)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert '"Tensor" has no attribute "no_such_method"' in proc.stdout
    assert 'expression has type "Tensor", variable has type "int"' in proc.stdout
    assert "Found 2 errors" in proc.stdout


def test_pyright_sees_the_same_types(tmp_path):
    # pyright is not in the test extra (it fetches its Node.js package on first use):
    # run where it is installed; mypy above checks the same script everywhere.
    if shutil.which("pyright") is None:
        pytest.skip("pyright is not installed (pip install pyright)")
    (tmp_path / "user.py").write_text(USER_SCRIPT + "\nreveal_type(x * 2.0 + 1)\n")
    config = {"extraPaths": [str(ROOT)], "typeCheckingMode": "basic"}
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    proc = subprocess.run(["pyright", "user.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Type of "x * 2 + 1" is "Tensor"' in proc.stdout
    assert "0 errors" in proc.stdout


def test_declarations_change_nothing_at_run_time():
    # The operators come from _methods.py at run time; the typed declarations in
    # tensor.py exist only for type checkers.
    import tapegrad as tg
    from tapegrad import _methods  # noqa: F401

    assert tg.Tensor.__add__.__module__ == "tapegrad._methods"
    assert tg.Tensor.sum is tg.primitives.sum
    assert "_Operand" not in vars(tg.Tensor)
