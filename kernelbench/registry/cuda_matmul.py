"""CUDA SIMT matmul ladder (csrc/cuda/matmul): one entry per rung, in ladder order.

dtypes must match the masks in csrc/cuda/matmul/table.cu (tests check it).  cuda_09_gemv takes
only matrix-vector shapes (M == 1 or N == 1) and raises ValueError for any other.
"""
from .core import native

_ALL = ("float32", "float64", "float16", "bfloat16")
_NO64 = ("float32", "float16", "bfloat16")
_D = "csrc/cuda/matmul/"

native("cuda_01_naive", "matmul", "cuda", _ALL,
       "one thread per C element; the baseline", _D + "01_naive.cu")
native("cuda_02_coalesced", "matmul", "cuda", _ALL,
       "threadIdx.x along a row of C: B reads and C writes coalesce", _D + "02_coalesced.cu")
native("cuda_03_smem_tiles", "matmul", "cuda", _ALL,
       "32x32 tiles of A and B staged in shared memory: 32x less global traffic", _D + "03_smem_tiles.cu")
native("cuda_04_blocktile_1d", "matmul", "cuda", _ALL,
       "8 results per thread down a column: each B value reused from a register", _D + "04_blocktile_1d.cu")
native("cuda_05_blocktile_2d", "matmul", "cuda", _ALL,
       "8x8 results per thread as an outer product of register fragments", _D + "05_blocktile_2d.cu")
native("cuda_06_vectorized", "matmul", "cuda", _NO64,
       "16-byte global loads, A stored transposed in smem, float4 fragment reads", _D + "06_vectorized.cu")
native("cuda_07_warptile", "matmul", "cuda", _NO64,
       "warp-level tiling: conflict-free broadcast fragment reads; BK=16", _D + "07_warptile.cu")
native("cuda_08_async_pipeline", "matmul", "cuda", _NO64,
       "3-stage cp.async / register-prefetch pipeline: loads overlap the FMAs", _D + "08_async_pipeline.cu")
native("cuda_09_gemv", "matmul", "cuda", _ALL,
       "matrix-vector (M or N == 1): row dot with shuffles or column sweep; memory-bound",
       _D + "09_gemv.cu", vector_only=True)
native("cuda_best", "matmul", "cuda", _ALL,
       "shape dispatch: gemv for vectors, 08 with 128x128 or 64x64 tiles, 05 for fp64", _D + "best.cu")
