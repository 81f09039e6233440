"""CUDA SIMT matmul ladder (csrc/cuda/matmul): descriptions; every other fact (dtypes, the
matrix-vector-only precondition of 09, the default rank, ...) is the rung's line in table.cu."""
from .core import describe

describe("matmul", "cuda_01_naive", "one thread per C element; the baseline")
describe("matmul", "cuda_02_coalesced", "threadIdx.x along a row of C: B reads and C writes coalesce")
describe("matmul", "cuda_03_smem_tiles",
         "32x32 tiles of A and B staged in shared memory: 32x less global traffic")
describe("matmul", "cuda_04_blocktile_1d",
         "8 results per thread down a column: each B value reused from a register")
describe("matmul", "cuda_05_blocktile_2d",
         "8x8 results per thread as an outer product of register fragments")
describe("matmul", "cuda_06_vectorized",
         "16-byte global loads, A stored transposed in smem, float4 fragment reads")
describe("matmul", "cuda_07_warptile",
         "warp-level tiling: conflict-free broadcast fragment reads; BK=16")
describe("matmul", "cuda_08_async_pipeline",
         "3-stage cp.async / register-prefetch pipeline: loads overlap the FMAs")
describe("matmul", "cuda_09_gemv",
         "matrix-vector (M or N == 1): row dot with shuffles or column sweep; memory-bound")
describe("matmul", "cuda_best",
         "shape dispatch: gemv for vectors, 08 with 128x128 or 64x64 tiles, 05 for fp64")
# Tensor cores (fp16 / bf16 in, fp32 accumulation); 15 is fp32 data with TF32 math (trait tf32).
describe("matmul", "cuda_10_wmma",
         "tensor cores via nvcuda::wmma: 16x16x16 fragments from smem, 4 warps of 32x32")
describe("matmul", "cuda_11_mma_sync",
         "mma.sync m16n8k16 + ldmatrix.x4 with the ISA fragment layouts; 8 warps of 64x32")
describe("matmul", "cuda_12_swizzled_multistage",
         "128-byte XOR swizzle (conflict-free ldmatrix) + 3-stage cp.async pipeline")
describe("matmul", "cuda_13_wgmma_tma",
         "sm_90a: TMA tiles + mbarrier pipeline + wgmma m64n128k16 from smem descriptors")
describe("matmul", "cuda_14_warp_specialized",
         "sm_90a: producer/consumer warpgroups, setmaxnreg, persistent L2-grouped tile scheduler, 128x256 tiles")
describe("matmul", "cuda_15_tf32_mma_sync",
         "TF32 (a different precision): fp32 inputs rounded to TF32, mma.sync m16n8k8")
