"""CPU matmul ladder (csrc/cpu/matmul)."""
from .core import native

_F = ("float32", "float64")
_D = "csrc/cpu/matmul/"

native("cpu_01_naive", "matmul", "cpu", _F,
       "textbook i-j-p triple loop; the baseline", _D + "01_naive.cpp")
native("cpu_02_loop_order", "matmul", "cpu", _F,
       "i-p-j order: unit-stride inner loop the compiler vectorizes", _D + "02_loop_order.cpp")
native("cpu_03_cache_blocked", "matmul", "cpu", _F,
       "64x256 C blocks x 128-deep K slices: the B block is reused from L2", _D + "03_cache_blocked.cpp")
native("cpu_04_avx2_packed", "matmul", "cpu", _F,
       "packed A/B panels + AVX2/FMA register micro-kernel (AVX-512 when present) + OpenMP; "
       "run-time ISA dispatch", _D + "04_avx2_packed.cpp")
