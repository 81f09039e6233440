"""CPU matmul ladder (csrc/cpu/matmul)."""
from .core import native

native("cpu_01_naive", "matmul", "cpu", ("float32", "float64"),
       "textbook i-j-p triple loop; the baseline", "csrc/cpu/matmul/01_naive.cpp")
