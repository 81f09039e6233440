"""CUDA SIMT matmul ladder (csrc/cuda/matmul): one entry per rung, in ladder order."""
from .core import native

_ALL = ("float32", "float64", "float16", "bfloat16")

native("cuda_01_naive", "matmul", "cuda", _ALL,
       "one thread per C element; the baseline", "csrc/cuda/matmul/01_naive.cu")
