"""CUDA reduction ladder (csrc/cuda/reduce) and CUB (csrc/cuda/library): descriptions; every other
fact (dtypes, ops, whole-tensor / inner == 1 / inner > 1 preconditions, rank) is the line in table.cu."""
from .core import describe

describe("reduce", "cuda_01_atomic", "one atomicAdd per element into a single total; the baseline")
describe("reduce", "cuda_02_tree_divergent",
         "shared-memory tree per block + partials in workspace; tid % (2s) diverges")
describe("reduce", "cuda_03_tree_bank_conflicts",
         "contiguous active threads (index 2*s*tid): no divergence, bank conflicts")
describe("reduce", "cuda_04_sequential_addressing", "tid + s addressing: conflict-free shared memory")
describe("reduce", "cuda_05_add_on_load", "two elements added per thread while loading: half the blocks")
describe("reduce", "cuda_06_unrolled_warp", "last warp of the tree without __syncthreads (__syncwarp)")
describe("reduce", "cuda_07_template_unrolled", "block size as a template parameter: the whole tree unrolls")
describe("reduce", "cuda_08_grid_stride", "one wave of blocks, each thread sums many elements in a register first")
describe("reduce", "cuda_09_warp_shuffle", "block reduction with __shfl_down_sync instead of a shared-memory tree")
describe("reduce", "cuda_10_vectorized", "128-bit loads, 4 in flight per thread; scalar head/tail for any alignment")
describe("reduce", "cuda_11_single_pass",
         "one launch: last block folds partials (atomic counter); + max/min/argmax/argmin")
describe("reduce", "cuda_12_dim_inner",
         "innermost dim (inner == 1): warp per short row, block per long row; all six ops")
describe("reduce", "cuda_13_dim_outer",
         "non-innermost dim: coalesced threads over kept columns walk r; r split when few columns")
describe("reduce", "cuda_best", "dispatch: whole tensor -> 11, innermost dim -> 12, other dims -> 13")
describe("reduce", "cub_device_reduce",
         "cub::DeviceReduce (whole tensor) / DeviceSegmentedReduce (innermost dim); NaN-aware arg ops")
describe("softmax", "cuda_14_softmax_online",
         "online max+sum in one pass, one writing pass; warp/block per row, row cached in smem")
describe("log_softmax", "cuda_14_softmax_online",
         "online max+sum in one pass, one writing pass (x - max - log sum); warp/block per row")
describe("l2norm", "cuda_15_l2norm", "sqrt of the row sum of squares; warp per short row, block per long row")
