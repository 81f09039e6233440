"""CUDA reduction ladder (csrc/cuda/reduce): full sums, dim reductions, softmax, L2 norm."""
from .core import native

_ALL = ("float32", "float64", "float16", "bfloat16")

native("cuda_01_atomic", "reduce", "cuda", _ALL,
       "one atomicAdd per element into a single total; the baseline",
       "csrc/cuda/reduce/01_atomic.cu", variants=("sum", "mean"), full_only=True)
