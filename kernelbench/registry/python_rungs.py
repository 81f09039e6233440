"""Python-level rungs: Numba, CuPy/NVRTC, vendor libraries and frameworks.

Each entry names a backend and a callable; the callables live in kernelbench/numba_kernels/*.py and
kernelbench/rungs/*.py and import their framework lazily, so this registry imports without any
framework installed.  The Numba modules import numba at their top, so they are reached through
`_lazy` (imported at the first call).
"""
from __future__ import annotations

import functools
import importlib
from pathlib import Path

from .core import REDUCE_OPS, Impl, list_impls, register
from ..rungs import cupy_nvrtc as nv
from ..rungs import frameworks as fw
from ..rungs import vendor as vd

_ROOT = Path(__file__).resolve().parents[2]
F32_64 = ("float32", "float64")
FLOATS = ("float32", "float64", "float16", "bfloat16")
NO_BF16 = ("float32", "float64", "float16")


def _lazy(module: str, attr: str):
    """A callable that imports kernelbench.<module> at its first call (numba is imported there)."""
    def call(*args, **kw):
        return getattr(importlib.import_module(f"kernelbench.{module}"), attr)(*args, **kw)
    call.__name__ = attr
    return call


def _numba_cuda_reason():
    from ..numba_kernels import _common
    return _common.cuda_reason()


def _numba_gpu_only_reason():
    from ..numba_kernels import _common
    return _common.gpu_only_reason()


def _numba_cpu_reason():
    from ..numba_kernels import _common
    return _common.numba_reason()


def _py(name, op, layer, device, dtypes, backend, fn, available, adds, source, **kw) -> Impl:
    return register(Impl(name=name, op=op, layer=layer, device=device, dtypes=tuple(dtypes),
                         front_doors=(backend,), adds=adds, source=source, backend=backend, fn=fn,
                         available=available, **kw))


# ------------------------------------------------------------------------------ Numba CUDA
_NMM = "kernelbench/numba_kernels/matmul.py"
_NRD = "kernelbench/numba_kernels/reduce.py"
for _name, _adds, _note in (
        ("numba_01_naive", "numba.cuda, one thread per C element: the cuda_01/02 idea written in Python",
         "rows of A and columns of B streamed from L1/L2: two loads per FMA"),
        ("numba_02_smem_tiles", "32x32 shared-memory tiles of A and B: each global element read once per block",
         "one result per thread: two shared loads per FMA; 16x16 tiles under the simulator"),
        ("numba_03_blocktile_2d", "each thread computes a TMxTN register tile (cuda.local.array) from shared fragments",
         "128x128 (8x8/thread) or 64x64 (4x4) tiles; scalar loads, no double buffering")):
    _py(_name, "matmul", "numba", "cuda", F32_64, "numba", _lazy("numba_kernels.matmul", _name),
        _numba_cuda_reason, _adds, _NMM, note=_note)

_py("numba_01_atomic", "reduce", "numba", "cuda", F32_64, "numba", _lazy("numba_kernels.reduce", "numba_01_atomic"),
    _numba_cuda_reason, "numba.cuda: every thread atomically adds its element to one total", _NRD,
    variants=("sum",), full_only=True, note="all atomics hit one address; nondeterministic rounding")
_py("numba_02_smem_tree", "reduce", "numba", "cuda", F32_64, "numba",
    _lazy("numba_kernels.reduce", "numba_02_smem_tree"), _numba_cuda_reason,
    "per-block shared-memory tree (sequential addressing), repeated over the partials", _NRD,
    variants=("sum", "mean"), full_only=True, note="one element per thread, several launches")
_py("numba_03_shuffle_grid_stride", "reduce", "numba", "cuda", F32_64, "numba",
    _lazy("numba_kernels.reduce", "numba_03_shuffle_grid_stride"), _numba_gpu_only_reason,
    "one wave of blocks, grid-stride register sums, shfl_down_sync warp trees, one atomic per block", _NRD,
    variants=("sum", "mean"), full_only=True, note="GPU only: the Numba CUDA simulator has no warp shuffles")
_py("numba_04_dim", "reduce", "numba", "cuda", ("float32",), "numba", _lazy("numba_kernels.reduce", "numba_04_dim"),
    _numba_cuda_reason, "reduction along one dim, all six ops: a block per row (inner dim) or a thread per column",
    _NRD, variants=REDUCE_OPS, dim_only=True, note="NaN and ties like torch; few long columns leave the GPU idle")

# ------------------------------------------------------------------------------ Numba CPU
_NCPU = "kernelbench/numba_kernels/cpu.py"
_py("numba_njit_parallel", "matmul", "numba", "cpu", F32_64, "numpy",
    _lazy("numba_kernels.cpu", "numba_njit_parallel_matmul"), _numba_cpu_reason,
    "@njit(parallel=True): LLVM-compiled i-p-j loops, one prange task per row of C", _NCPU,
    note="autovectorized inner loop; no packing or cache blocking")
_py("numba_njit_parallel", "reduce", "numba", "cpu", F32_64, "numpy",
    _lazy("numba_kernels.cpu", "numba_njit_parallel_reduce"), _numba_cpu_reason,
    "@njit(parallel=True): prange over chunks (whole tensor), rows (inner dim) or outer slices (other dims)",
    _NCPU, variants=REDUCE_OPS,
    note="fastmath off: sums in the input dtype with 8 accumulators (no SIMD); NaN and ties like torch")

# ------------------------------------------------------------------------------ CuPy / NVRTC
# Every native CUDA rung whose table line has a launch config (nvrtc), with that rung's facts.
for _native in [i for i in list_impls(device="cuda") if i.native and i.nvrtc]:
    _py(f"cupy_nvrtc_{_native.name[len('cuda_'):]}", _native.op, "cupy-nvrtc", "cuda",
        tuple(d for d in _native.dtypes if d != "bfloat16"),   # CuPy has no bfloat16 arrays
        "cupy", (nv.matmul_fn if _native.op == "matmul" else nv.reduce_fn)(_native.name),
        functools.partial(nv.reason, _native.name, _native.op),
        f"{_native.name}'s .cu compiled by NVRTC via cupy.RawModule, launched with its C++ launch config",
        _native.source, variants=_native.variants, full_only=_native.full_only, dim_only=_native.dim_only,
        vector_only=_native.vector_only, min_arch=_native.min_arch, probes=_native.probes,
        traits=tuple(t for t in _native.traits if t == "tf32"),   # TF32 math stays TF32 through NVRTC
        note="same kernel as the native rung: isolates NVRTC vs nvcc and CuPy's launch path")

# ------------------------------------------------------------------------------ vendor libraries (CUDA)
_FW = "kernelbench/rungs/frameworks.py"
_TORCH_CUDA = functools.partial(fw.torch_reason, "cuda")
_TORCH_CPU = functools.partial(fw.torch_reason, "cpu")
_py("cublas_torch", "matmul", "vendor-library", "cuda", FLOATS, "torch", fw.torch_eager("matmul"), _TORCH_CUDA,
    "cuBLAS GEMM (reached through torch.matmul, TF32 off)", _FW,
    note="the same call as torch_eager_cuda, listed as the cuBLAS baseline")
_py("cublas_tf32_torch", "matmul", "vendor-library", "cuda", ("float32",), "torch", fw.torch_matmul_tf32, _TORCH_CUDA,
    "cuBLAS GEMM with TF32 tensor cores on (torch.backends.cuda.matmul.allow_tf32): fp32 data, TF32 math", _FW,
    traits=("tf32",), note="the reference of the TF32 rung cuda_15; measured only beside TF32 rungs")
_py("cupy_cublas", "matmul", "vendor-library", "cuda", NO_BF16, "cupy", fw.cupy_matmul, fw.cupy_reason,
    "cuBLAS GEMM through cupy.matmul", _FW)
_py("cudnn", "matmul", "vendor-library", "cuda", ("float32", "float16", "bfloat16"), "torch", fw.cudnn_matmul,
    fw.cudnn_reason, "cuDNN matmul: frontend graph if the cudnn module imports, else a 1x1 conv", _FW,
    note="cudnn frontend graph matmul when `import cudnn` works, else torch conv2d 1x1 (cuDNN, TF32 off)")
# cuDNN's legacy reduction / softmax API (ctypes, the cuDNN torch ships) and cuBLASLt (nvmath-python).
_VD = "kernelbench/rungs/vendor.py"
_py("cublaslt_nvmath", "matmul", "vendor-library", "cuda", FLOATS, "torch", vd.cublaslt_matmul, vd.nvmath_reason,
    "cuBLASLt GEMM through nvmath-python (nvmath.linalg.advanced.matmul), IEEE fp32 compute (no TF32)", _VD)
_py("cudnn_reduce", "reduce", "vendor-library", "cuda", vd.CUDNN_DTYPES, "torch", vd.cudnn_reduce,
    vd.cudnn_legacy_reason, "cudnnReduceTensor (legacy API, libcudnn_ops): ADD/AVG/MAX/MIN, arg ops via "
    "32-bit flattened indices", _VD, variants=REDUCE_OPS,
    note="ties and NaN positions of argmax/argmin follow cuDNN, not torch")
_py("cudnn_softmax", "softmax", "vendor-library", "cuda", vd.CUDNN_DTYPES, "torch", vd.cudnn_softmax,
    vd.cudnn_legacy_reason, "cudnnSoftmaxForward, ACCURATE (max subtracted), one instance per row", _VD)
_py("cudnn_softmax", "log_softmax", "vendor-library", "cuda", vd.CUDNN_DTYPES, "torch", vd.cudnn_log_softmax,
    vd.cudnn_legacy_reason, "cudnnSoftmaxForward, CUDNN_SOFTMAX_LOG, one instance per row", _VD)
_py("cudnn_l2norm", "l2norm", "vendor-library", "cuda", vd.CUDNN_DTYPES, "torch", vd.cudnn_l2norm,
    vd.cudnn_legacy_reason, "cudnnReduceTensor NORM2 over the last dim", _VD)
_py("cupy_reduce", "reduce", "framework", "cuda", NO_BF16, "cupy", fw.cupy_reduce, fw.cupy_reason,
    "CuPy's own reduction kernels (cupy.sum/amax/argmax...)", _FW, variants=REDUCE_OPS,
    note="CUB only when CUPY_ACCELERATORS includes cub")

# ------------------------------------------------------------------------------ frameworks and compilers
_ADDS = {
    "torch_eager": "PyTorch eager: one ATen kernel per call (cuBLAS/cuDNN/ATen reductions), TF32 off",
    "torch_compile": "torch.compile (Inductor, dynamic=False): generated Triton/C++ kernels, compiled per shape",
    "tf_eager": "TensorFlow eager op dispatch",
    "tf_function": "tf.function graph (Grappler), traced per shape",
    "tf_xla": "tf.function(jit_compile=True): XLA-compiled cluster",
}
_LAYER = {"torch_eager": "framework", "torch_compile": "compiler", "tf_eager": "framework",
          "tf_function": "compiler", "tf_xla": "compiler"}
_OPS_OF = {  # which ops each flavour covers
    "torch_eager": ("matmul", "reduce", "softmax", "log_softmax", "l2norm"),
    "torch_compile": ("matmul", "reduce", "softmax", "log_softmax"),
    "tf_eager": ("matmul", "reduce", "softmax", "log_softmax", "l2norm"),
    "tf_function": ("matmul", "reduce"),
    "tf_xla": ("matmul", "reduce", "softmax", "log_softmax"),
}


def _framework_entry(flavour: str, op: str, device: str) -> None:
    if flavour.startswith("torch"):
        fn = (fw.torch_eager if flavour == "torch_eager" else fw.torch_compile)(op)
        avail = functools.partial(fw.torch_reason if flavour == "torch_eager" else fw.torch_compile_reason, device)
        backend, dtypes = "torch", FLOATS
    else:
        fn = fw.tensorflow(op, flavour[len("tf_"):], device)
        avail = functools.partial(fw.tf_reason, device)
        backend, dtypes = "tf", FLOATS
    kw = {"variants": REDUCE_OPS} if op == "reduce" else {}
    _py(f"{flavour}_{device}", op, _LAYER[flavour], device, dtypes, backend, fn, avail, _ADDS[flavour], _FW, **kw)


for _device in ("cuda", "cpu"):
    for _flavour, _ops in _OPS_OF.items():
        for _op in _ops:
            _framework_entry(_flavour, _op, _device)

for _op in ("matmul", "reduce"):
    _py("numpy_cpu", _op, "framework", "cpu", NO_BF16, "numpy", fw.numpy_op(_op), fw.numpy_reason,
        "NumPy: OpenBLAS/MKL GEMM" if _op == "matmul" else "NumPy reductions (pairwise sums, SIMD loops)", _FW,
        **({"variants": REDUCE_OPS} if _op == "reduce" else {}))
