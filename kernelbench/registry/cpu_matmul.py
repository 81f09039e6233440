"""CPU matmul ladder (csrc/cpu/matmul): descriptions; every other fact is its line in table.cpp."""
from .core import describe

describe("matmul", "cpu_01_naive", "textbook i-j-p triple loop; the baseline")
describe("matmul", "cpu_02_loop_order", "i-p-j order: unit-stride inner loop the compiler vectorizes")
describe("matmul", "cpu_03_cache_blocked", "64x256 C blocks x 128-deep K slices: the B block is reused from L2")
describe("matmul", "cpu_04_avx2_packed",
         "packed A/B panels + AVX2/FMA register micro-kernel (AVX-512 when present) + OpenMP; run-time ISA dispatch")
describe("matmul", "cpu_05_analytic_blocking",
         "04 with the register tile and MC/KC/NC derived from the OS-reported caches (BLIS analytical model)")
