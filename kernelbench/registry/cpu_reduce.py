"""CPU reduction ladder (csrc/cpu/reduce): full and dim reductions, softmax, L2 norm.

Same names, in the same order, as csrc/cpu/reduce/table.cpp (tests/test_registry.py checks)."""
from .core import REDUCE_OPS, native

_F = ("float32", "float64")
_D = "csrc/cpu/reduce/"

native("cpu_01_scalar", "reduce", "cpu", _F,
       "one accumulator, one element per step; the baseline for every op and dim",
       _D + "01_scalar.cpp", variants=REDUCE_OPS)
native("cpu_02_multi_accumulators", "reduce", "cpu", _F,
       "8 independent accumulators break the add-latency chain; dims swept row by row",
       _D + "02_multi_accumulators.cpp", variants=REDUCE_OPS)
native("cpu_03_avx2", "reduce", "cpu", _F,
       "AVX2 intrinsics: 8 (sum) / 4 (+ index) vector accumulators, aligned body, scalar head/tail; "
       "run-time dispatch", _D + "03_avx2.cpp", variants=REDUCE_OPS)
native("cpu_04_avx2_openmp", "reduce", "cpu", _F,
       "03 on every core: fixed 64K-element chunks, partials combined in order (deterministic)",
       _D + "04_avx2_openmp.cpp", variants=REDUCE_OPS)
native("cpu_05_kahan", "reduce", "cpu", _F,
       "compensated (TwoSum / Kahan-Babuska-Neumaier) accumulators: fp32 error no longer grows with n",
       _D + "05_kahan.cpp", variants=("sum", "mean"))

native("cpu_06_softmax", "softmax", "cpu", _F,
       "online max+sum per AVX2 lane in one read pass, vectorized exp, one writing pass; OpenMP rows",
       _D + "06_softmax.cpp")
native("cpu_06_softmax", "log_softmax", "cpu", _F,
       "online max+sum per AVX2 lane in one read pass, then (x - max) - log sum; OpenMP rows",
       _D + "06_softmax.cpp")
native("cpu_07_l2norm", "l2norm", "cpu", _F,
       "sqrt of the row sum of squares: AVX2 FMA accumulators, fixed chunks, OpenMP",
       _D + "07_l2norm.cpp")
