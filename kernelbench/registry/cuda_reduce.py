"""CUDA reduction ladder (csrc/cuda/reduce): full sums, dim reductions, softmax, L2 norm.

Same names, in the same order, as csrc/cuda/reduce/table.cu (tests/test_registry.py checks)."""
from .core import REDUCE_OPS, Impl, native, register

_ALL = ("float32", "float64", "float16", "bfloat16")
_D = "csrc/cuda/reduce/"
_SUM = ("sum", "mean")


def _full(name, adds):
    native(f"cuda_{name}", "reduce", "cuda", _ALL, adds, _D + f"{name}.cu", variants=_SUM, full_only=True)


_full("01_atomic", "one atomicAdd per element into a single total; the baseline")
_full("02_tree_divergent", "shared-memory tree per block + partials in workspace; tid % (2s) diverges")
_full("03_tree_bank_conflicts", "contiguous active threads (index 2*s*tid): no divergence, bank conflicts")
_full("04_sequential_addressing", "tid + s addressing: conflict-free shared memory")
_full("05_add_on_load", "two elements added per thread while loading: half the blocks")
_full("06_unrolled_warp", "last warp of the tree without __syncthreads (__syncwarp)")
_full("07_template_unrolled", "block size as a template parameter: the whole tree unrolls")
_full("08_grid_stride", "one wave of blocks, each thread sums many elements in a register first")
_full("09_warp_shuffle", "block reduction with __shfl_down_sync instead of a shared-memory tree")
_full("10_vectorized", "128-bit loads, 4 in flight per thread; scalar head/tail for any alignment")
native("cuda_11_single_pass", "reduce", "cuda", _ALL,
       "one launch: last block folds partials (atomic counter); + max/min/argmax/argmin",
       _D + "11_single_pass.cu", variants=REDUCE_OPS, full_only=True)
native("cuda_12_dim_inner", "reduce", "cuda", _ALL,
       "innermost dim (inner == 1): warp per short row, block per long row; all six ops",
       _D + "12_dim_inner.cu", variants=REDUCE_OPS)
native("cuda_13_dim_outer", "reduce", "cuda", _ALL,
       "non-innermost dim: coalesced threads over kept columns walk r; r split when few columns",
       _D + "13_dim_outer.cu", variants=REDUCE_OPS)
native("cuda_best", "reduce", "cuda", _ALL,
       "dispatch: whole tensor -> 11, innermost dim -> 12, other dims -> 13",
       _D + "best.cu", variants=REDUCE_OPS)

register(Impl(name="cub_device_reduce", op="reduce", layer="vendor-library", device="cuda", dtypes=_ALL,
              front_doors=("torch", "tf", "pybind"),
              adds="cub::DeviceReduce (whole tensor) / DeviceSegmentedReduce (innermost dim); NaN-aware arg ops",
              source="csrc/cuda/library/cub_reduce.cu", variants=REDUCE_OPS))

native("cuda_14_softmax_online", "softmax", "cuda", _ALL,
       "online max+sum in one pass, one writing pass; warp/block per row, row cached in smem",
       _D + "14_softmax_online.cu")
native("cuda_14_softmax_online", "log_softmax", "cuda", _ALL,
       "online max+sum in one pass, one writing pass (x - max - log sum); warp/block per row",
       _D + "14_softmax_online.cu")
native("cuda_15_l2norm", "l2norm", "cuda", _ALL,
       "sqrt of the row sum of squares; warp per short row, block per long row",
       _D + "15_l2norm.cu")
