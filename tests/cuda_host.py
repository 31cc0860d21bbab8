"""Run generated CUDA kernel bodies on the CPU, compiled as C++, to check their values.

A fused group's kernel (:func:`tapegrad.compiler.backends.cupy.kernel_source`) is plain
C: typed locals, casts, ternaries and ``<cmath>`` calls. Compiled by the host C++
compiler inside a loop over elements, it runs with C's own rules (integer division, the
usual arithmetic conversions, overloads chosen by type), which is what a GPU would do
with it. A re-reading of the text in NumPy could not show where those rules differ from
NumPy's.

CuPy's ``ElementwiseKernel`` broadcasts its inputs and allocates its outputs;
:func:`host_kernels` does the same on NumPy arrays.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence

import numpy as np
from tapegrad.compiler.backends.cupy import C_TYPES

CXX = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")

_PRELUDE = """\
#include <cmath>
using namespace std;
#define __device__
"""

_build_dir = pathlib.Path(tempfile.mkdtemp(prefix="tapegrad-host-kernels-"))
atexit.register(shutil.rmtree, _build_dir, ignore_errors=True)
_libraries: dict = {}


def _params(text: str) -> list[tuple[str, str]]:
    """``"float32 i0, int64 k0"`` -> ``[("float32", "i0"), ("int64", "k0")]``."""
    return [tuple(p.split()) for p in text.split(", ") if p]


def _function(index: int, src) -> str:
    ins, outs = _params(src.in_params), _params(src.out_params)
    lines = [f'extern "C" void kernel_{index}(long long n, void** args) {{',
             "  for (long long _k = 0; _k < n; ++_k) {"]
    for j, (dt, nm) in enumerate(ins):
        lines.append(f"    const {C_TYPES[dt]} {nm} = (({C_TYPES[dt]}*)args[{j}])[_k];")
    for dt, nm in outs:
        lines.append(f"    {C_TYPES[dt]} {nm};")
    lines += ["    " + ln for ln in src.operation.splitlines()]
    for j, (dt, nm) in enumerate(outs, start=len(ins)):
        lines.append(f"    (({C_TYPES[dt]}*)args[{j}])[_k] = {nm};")
    lines += ["  }", "}"]
    return "\n".join(lines)


def _library(code: str) -> ctypes.CDLL:
    key = hashlib.sha256(code.encode()).hexdigest()[:20]
    if key not in _libraries:
        cpp, so = _build_dir / f"{key}.cpp", _build_dir / f"{key}.so"
        cpp.write_text(code)
        # -fwrapv: signed overflow wraps, as on a GPU and in NumPy (C leaves it undefined)
        done = subprocess.run([CXX, "-O1", "-fwrapv", "-shared", "-fPIC", "-o", str(so),
                               str(cpp)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"the host compiler rejected the kernel source:\n{code}\n"
                               f"{done.stderr}")
        _libraries[key] = ctypes.CDLL(str(so))
    return _libraries[key]


def host_kernels(srcs: Sequence, preamble: str = "") -> list[Callable]:
    """Compile kernel sources (one shared library) into callables on NumPy arrays.

    Each callable takes the kernel's input arrays, of exactly the declared dtypes and
    broadcast together, and returns its output array, or a tuple of them when the kernel
    has several.
    """
    code = _PRELUDE + preamble + "\n" + "\n".join(
        _function(k, s) for k, s in enumerate(srcs))
    lib = _library(code)
    return [_caller(getattr(lib, f"kernel_{k}"), s) for k, s in enumerate(srcs)]


def _caller(fn, src) -> Callable:
    ins, outs = _params(src.in_params), _params(src.out_params)

    def run(*args):
        if len(args) != len(ins):
            raise TypeError(f"{src.name} takes {len(ins)} inputs, got {len(args)}")
        for a, (dt, nm) in zip(args, ins):
            if np.asarray(a).dtype != dt:  # CuPy would reject or convert; a program bug
                raise TypeError(f"{src.name}: {nm} is declared {dt}, "
                                f"got {np.asarray(a).dtype}")
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        arrays = [np.ascontiguousarray(np.broadcast_to(a, shape)) for a in args]
        results = [np.empty(shape, dt) for dt, _ in outs]
        ptrs = (ctypes.c_void_p * (len(arrays) + len(results)))(
            *(a.ctypes.data for a in arrays + results))
        fn(ctypes.c_longlong(int(np.prod(shape, dtype=np.int64))), ptrs)
        return results[0] if len(results) == 1 else tuple(results)

    return run
