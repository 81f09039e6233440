"""CUDA SIMT matmul ladder (csrc/cuda/matmul): descriptions; every other fact (dtypes, the
matrix-vector-only precondition of 09, the default rank, ...) is the rung's line in table.cu."""
from .core import describe

_D = "csrc/cuda/matmul/"

describe("matmul", "cuda_01_naive", "one thread per C element; the baseline", _D + "01_naive.cu")
describe("matmul", "cuda_02_coalesced", "threadIdx.x along a row of C: B reads and C writes coalesce",
         _D + "02_coalesced.cu")
describe("matmul", "cuda_03_smem_tiles",
         "32x32 tiles of A and B staged in shared memory: 32x less global traffic", _D + "03_smem_tiles.cu")
describe("matmul", "cuda_04_blocktile_1d",
         "8 results per thread down a column: each B value reused from a register", _D + "04_blocktile_1d.cu")
describe("matmul", "cuda_05_blocktile_2d",
         "8x8 results per thread as an outer product of register fragments", _D + "05_blocktile_2d.cu")
describe("matmul", "cuda_06_vectorized",
         "16-byte global loads, A stored transposed in smem, float4 fragment reads", _D + "06_vectorized.cu")
describe("matmul", "cuda_07_warptile",
         "warp-level tiling: conflict-free broadcast fragment reads; BK=16", _D + "07_warptile.cu")
describe("matmul", "cuda_08_async_pipeline",
         "3-stage cp.async / register-prefetch pipeline: loads overlap the FMAs", _D + "08_async_pipeline.cu")
describe("matmul", "cuda_09_gemv",
         "matrix-vector (M or N == 1): row dot with shuffles or column sweep; memory-bound", _D + "09_gemv.cu")
describe("matmul", "cuda_best",
         "shape dispatch: gemv for vectors, 08 with 128x128 or 64x64 tiles, 05 for fp64", _D + "best.cu")
