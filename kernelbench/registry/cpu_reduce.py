"""CPU reduction ladder (csrc/cpu/reduce)."""
from .core import REDUCE_OPS, native

native("cpu_01_scalar", "reduce", "cpu", ("float32", "float64"),
       "one accumulator, one element per step; the baseline for every op and dim",
       "csrc/cpu/reduce/01_scalar.cpp", variants=REDUCE_OPS)
