"""CPU reduction ladder (csrc/cpu/reduce): descriptions; every other fact is its line in table.cpp."""
from .core import describe

describe("reduce", "cpu_01_scalar", "one accumulator, one element per step; the baseline for every op and dim")
describe("reduce", "cpu_02_multi_accumulators",
         "8 independent accumulators break the add-latency chain; dims swept row by row")
describe("reduce", "cpu_03_avx2",
         "AVX2 intrinsics: 8 (sum) / 4 (+ index) vector accumulators, aligned body, scalar head/tail; "
         "run-time dispatch")
describe("reduce", "cpu_04_avx2_openmp",
         "03 on every core: fixed 64K-element chunks, partials combined in order (deterministic)")
describe("reduce", "cpu_05_kahan",
         "compensated (TwoSum / Kahan-Babuska-Neumaier) accumulators: fp32 error no longer grows with n")
describe("softmax", "cpu_06_softmax",
         "online max+sum per AVX2 lane in one read pass, vectorized exp, one writing pass; OpenMP rows")
describe("log_softmax", "cpu_06_softmax",
         "online max+sum per AVX2 lane in one read pass, then (x - max) - log sum; OpenMP rows")
describe("l2norm", "cpu_07_l2norm", "sqrt of the row sum of squares: AVX2 FMA accumulators, fixed chunks, OpenMP")
