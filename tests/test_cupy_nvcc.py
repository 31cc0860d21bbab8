"""The CUDA that tapegrad generates, built the way CuPy builds it, compiled without a GPU.

CuPy writes a kernel's whole CUDA file (its headers, the array and indexer parameters,
the element loop around tapegrad's operation) only when the kernel is first called on
device arrays. Here CuPy's own code generators are asked for that file with argument
metadata made up on the host, and ``nvcc`` compiles it to PTX for ``sm_90``. That
covers every CUDA template on every dtype NumPy accepts (:mod:`cuda_cases`) and the
kernels of the GPU benchmark's workloads.

Needs CuPy (importable without a GPU) and ``nvcc``; skips, with the reason, otherwise.
Whether the kernels compute the right values is checked on the host
(test_cupy_lowering.py) and on a GPU (test_cupy.py).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from cuda_cases import template_cases
from tapegrad.compiler.backends.cupy import CupyLowering, kernel_source
from tapegrad.compiler.codegen import generate

import tapegrad as tg


def _cupy_codegen():
    """CuPy's kernel code generators, or a reason why they are not usable here."""
    try:
        import cupy
        import cupy._core._kernel as kernel
        import cupy._core._reduction as reduction
        import cupy._core.core as core
        from cupy._core import _carray, _scalar
    except ImportError as exc:
        return None, f"CuPy is not importable ({exc})"
    needed = [(kernel, "_get_elementwise_kernel_code"), (kernel, "_ArgInfo"),
              (reduction, "_ReductionKernel_get_cached_function_code"),
              (core, "assemble_cupy_compiler_options"), (core, "_cupy_header_list")]
    missing = [name for mod, name in needed if not hasattr(mod, name)]
    if missing:
        return None, f"this CuPy lacks the code generators used here: {missing}"
    return (kernel, reduction, core, _carray, _scalar, cupy.ndarray), None


_CG, _REASON = _cupy_codegen()
NVCC = shutil.which("nvcc") or shutil.which("/usr/local/cuda/bin/nvcc")
pytestmark = [
    pytest.mark.cupy,
    pytest.mark.skipif(_CG is None, reason=str(_REASON)),
    pytest.mark.skipif(NVCC is None, reason="nvcc is not installed"),
]
_NDARRAY, _INDEXER, _SCALAR = 1, 2, 3  # CuPy's _ArgKind


def _arrays(types, ndim):
    kernel, ndarray = _CG[0], _CG[-1]
    return tuple(kernel._ArgInfo(_NDARRAY, ndarray, np.dtype(t).type, ndim, True, True)
                 for t in types)


def elementwise_code(src) -> str:
    """CuPy's CUDA for ``ElementwiseKernel(src.in_params, src.out_params, ...)`` called
    on contiguous 1-d arrays of the declared dtypes."""
    kernel, _, _, carray, _, _ = _CG
    ins = kernel._get_param_info(src.in_params, True)
    outs = kernel._get_param_info(src.out_params, False)
    params = ins + outs + kernel._get_param_info("CIndexer _ind", False)
    in_t, out_t, types = kernel._decide_params_type(
        ins, outs, tuple(p.dtype.type for p in ins), ())
    infos = _arrays(in_t + out_t, 1) + (
        kernel._ArgInfo(_INDEXER, carray.Indexer, None, 1, False, True),)
    return kernel._get_elementwise_kernel_code(infos, types, params, src.operation,
                                               src.name, "")


def reduction_code(parts) -> str:
    """CuPy's CUDA for the ``ReductionKernel`` of :func:`reduction_source` parts,
    reducing a 2-d input along one axis."""
    kernel, reduction, _, carray, scalar, _ = _CG
    in_p, out_p, map_e, reduce_e, post, ident, preamble, name, _ = parts
    ins = kernel._get_param_info(in_p, True)
    outs = kernel._get_param_info(out_p, False)
    params = (ins + outs + kernel._get_param_info("CIndexer _in_ind, CIndexer _out_ind",
                                                  False)
              + kernel._get_param_info("int32 _block_stride", True))
    in_t, out_t, types = kernel._decide_params_type(
        ins, outs, tuple(p.dtype.type for p in ins), ())
    types = kernel._TypeMap(tuple(types._pairs) + (("IndexT", np.int32),))
    infos = _arrays(in_t, 2) + _arrays(out_t, 1) + (
        kernel._ArgInfo(_INDEXER, carray.Indexer, None, 2, False, True),
        kernel._ArgInfo(_INDEXER, carray.Indexer, None, 1, False, True),
        kernel._ArgInfo(_SCALAR, scalar.CScalar, np.int32, 0, True, True))
    return reduction._ReductionKernel_get_cached_function_code(
        len(ins), len(outs), params, infos, types, name, 256, outs[0].ctype, ident,
        map_e, reduce_e, post, preamble, ())


def nvcc(code: str, tmp_path) -> None:
    """Compile one CUDA file, with CuPy's headers and options, to PTX for sm_90."""
    core = _CG[2]
    headers = "".join(f"#include <{h}>\n" for h in core._cupy_header_list)
    cu = tmp_path / "kernels.cu"
    cu.write_text(headers + code)
    options = list(core.assemble_cupy_compiler_options(()))
    done = subprocess.run([NVCC, "--ptx", "-arch=sm_90", *options, str(cu), "-o",
                           str(tmp_path / "kernels.ptx")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-6000:]
    assert (tmp_path / "kernels.ptx").stat().st_size > 0


def test_every_template_compiles_on_every_dtype(tmp_path):
    srcs = [kernel_source(c.body, f"k{i}") for i, c in enumerate(template_cases())]
    srcs = [s for s in srcs if s is not None]
    assert len(srcs) > 400
    nvcc("\n".join(elementwise_code(s) for s in srcs), tmp_path)


def _workload_kernels():
    """Kernel sources and reduction parts of the GPU benchmark's workloads."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "asv_bench"))
    import gpu_bench

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16)).astype(np.float32)
    shapes = [(32, 16), (16,), (16, 10), (10,), (8, 32)]
    mlp = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    mlp.append(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 8)])
    ew, red = [], []
    low = CupyLowering(np, None, elementwise_kernel=lambda s: ew.append(s) or s,
                       reduction_kernel=lambda p: red.append(p) or p)
    for fn, args in [(tg.value_and_grad(gpu_bench.elementwise), (x,)),
                     (tg.value_and_grad(gpu_bench.mlp_loss, argnums=(0, 1, 2, 3)), mlp),
                     (lambda a: tg.mean(tg.tanh(a) * a + 0.5, axis=0), (x,))]:
        c = tg.compile(fn)
        c(*args)
        generate(c.graph, low, name="program")
    return ew, red


def test_workload_kernels_compile(tmp_path):
    ew, red = _workload_kernels()
    assert ew and red  # the workloads do fuse, and one sum became a ReductionKernel
    for i, src in enumerate(ew):
        ew[i] = src._replace(name=f"{src.name}_{i}")
    nvcc("\n".join(elementwise_code(s) for s in ew), tmp_path)
    for parts in red:  # each defines its own REDUCE macros: one file each
        nvcc(reduction_code(parts), tmp_path)
