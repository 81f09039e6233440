"""kernelbench.explain without the build: the SASS reader, the ptxas / ELF readers of
scripts/compiler_facts.py, the staleness check, and the speed-of-light bound against published
per-kernel figures (each test can fail: see the negative cases)."""
import importlib.util
import math
from pathlib import Path

import pytest

from kernelbench.explain import bound as bnd
from kernelbench.explain import gpus, sass
from kernelbench.explain.core import analytic, check_measurements, parse_shape

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("kb_compiler_facts", ROOT / "scripts" / "compiler_facts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SASS = """
	code for sm_80
		Function : _Z4testv
        /*0000*/                   S2R R0, SR_TID.X ;
        /*0010*/                   LDG.E.128 R4, [R2.64] ;
        /*0020*/                   STS.128 [R0], R4 ;
        /*0030*/                   BAR.SYNC.DEFER_BLOCKING 0x0 ;
        /*0040*/                   LDS.U.128 R8, [R1] ;
        /*0050*/                   LDS R12, [R1+0x4] ;
        /*0060*/                   FFMA R13, R8, R12, R13 ;
        /*0070*/                   FFMA R14, R9, R12, R14 ;
        /*0080*/               @P0 BRA 0x40 ;
        /*0090*/                   LDG.E.U16 R5, [R2.64] ;
        /*00a0*/                   HMMA.16816.F32.BF16 R16, R4, R8, R16 ;
        /*00b0*/              @!P1 BRA 0x90 ;
        /*00c0*/                   SHFL.BFLY PT, R3, R2, 0x1, 0x1f ;
        /*00d0*/                   RED.E.ADD.F32.FTZ.RN.STRONG.GPU [R4.64], R3 ;
        /*00e0*/                   BAR.SYNC 0x0 ;
        /*00f0*/               @P2 BRA 0x10 ;
        /*0100*/                   BRA 0x120 ;
        /*0110*/                   NOP ;
        /*0120*/                   EXIT ;
"""


def test_sass_mix_by_class_and_width():
    fns = sass.parse(SASS)
    instrs = fns[("sm_80", "_Z4testv")]
    m = sass.mix(instrs)
    assert m["LDG.128"] == 1 and m["LDG.16"] == 1 and m["STS.128"] == 1
    assert m["LDS.128"] == 1 and m["LDS.32"] == 1 and m["FFMA"] == 2 and m["HMMA"] == 1
    assert m["BAR"] == 2 and m["SHFL"] == 1 and m["ATOMIC"] == 1
    assert m["total"] == len(instrs) - 1   # the NOP is not counted
    assert sass.classify("LDSM.16.M88.4") == "LDSM.x4" and sass.classify("LDGSTS.E.BYPASS.128") == "LDGSTS.128"
    assert sass.classify("IMAD.MOV.U32") is None


def test_innermost_loop_is_the_nested_one_with_the_math():
    instrs = sass.parse(SASS)[("sm_80", "_Z4testv")]
    # back-edges: 0x80 -> 0x40, 0xb0 -> 0x90, 0xf0 -> 0x10 (the outer loop); 0x100 -> 0x120 is forward
    assert sorted(sass.loops(instrs)) == [(0x10, 0xf0), (0x40, 0x80), (0x90, 0xb0)]
    loop = sass.innermost_loop(instrs)
    # two innermost loops: [0x40, 0x80] has 2 FFMA, [0x90, 0xb0] 1 HMMA: more math wins
    assert (loop["start"], loop["end"]) == (0x40, 0x80)
    assert loop["mix"]["FFMA"] == 2 and loop["mix"]["LDS.128"] == 1 and "BAR" not in loop["mix"]
    assert sass.innermost_loop([i for i in instrs if not i[1].startswith("BRA")]) is None


def test_ptxas_and_elf_readers():
    mod = _script()
    ptxas = """ptxas info    : Compiling entry function '_Z1kv' for 'sm_90a'
ptxas info    : Function properties for _Z1kv
    16 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 8192 bytes smem, 464 bytes cmem[0]
"""
    assert mod.parse_ptxas(ptxas) == {("sm_90a", "_Z1kv"): {
        "stack_bytes": 16, "spill_store_bytes": 8, "spill_load_bytes": 4, "registers": 255, "barriers": 1,
        "static_smem": 8192}}
    elf = """arch = sm_80
.nv.info._Z1kv
	<0x1>
	Attribute:	EIATTR_MAX_THREADS
	Format:	EIFMT_SVAL
	Value:	0x100 0x1 0x1 
"""
    assert mod.parse_max_threads(elf) == {("sm_80", "_Z1kv"): 256}


def test_staleness_is_detected():
    mod = _script()
    src = mod.sources()[0]
    deps = [src]
    good = {"files": {s: {"key": "x", "deps": [s]} for s in mod.sources()}}
    good["files"][src]["key"] = mod.file_key(deps)
    assert src not in mod.stale(good)              # its key matches its text
    good["files"][src]["key"] = "0" * 16
    assert src in mod.stale(good)                  # a changed source (key mismatch) is stale
    good["files"][src]["kernel_key"] = mod.file_key(mod.kernel_deps(deps))
    assert src not in mod.stale(good, kernels_only=True)     # the kernel code alone is current
    del good["files"][src]
    assert src in mod.stale(good)                  # a missing entry is stale
    good["files"]["csrc/cuda/matmul/99_gone.cu"] = {"key": "x", "deps": []}
    assert "csrc/cuda/matmul/99_gone.cu" in mod.stale(good)


def test_committed_compiler_facts_are_current():
    """The CI check: kernelbench/data/compiler_facts.json was taken from the kernel code as it is now
    (csrc/cuda/ and the flags; regenerate with scripts/compiler_facts.py, which recompiles only the stale
    files).  A change to the shared plumbing of csrc/common alone is noted by explain(), not failed here."""
    mod = _script()
    assert mod.stale(mod.load(), kernels_only=True) == []


# ------------------------------------------------------------------------------------ bound
def test_bound_terms_and_merge_factor():
    g = gpus.get("h100")
    clk, sms = g.max_mhz * 1e6, g.sms
    c = {"global_load_requests": 1000, "global_load_sectors": 32000, "shared_load_requests": 4000,
         "shared_load_wavefronts": 4000, "unique_bytes_read": 1 << 20, "unique_bytes_written": 0, "blocks": sms}
    b = bnd.launch_bound(g, flops=0.0, pipe="fp32", counters=c, sass_mix={"LDS.32": 1, "LDG.32": 1})
    assert b.term("L1").seconds == pytest.approx(32000 / (4 * sms * clk))
    assert b.term("shared").seconds == pytest.approx(4000 / (sms * clk))
    # L1 sectors are never DRAM traffic: DRAM is the unique bytes alone
    assert b.term("DRAM").seconds == pytest.approx((1 << 20) / g.bandwidth)
    # a kernel whose SASS has LDS.128 may have merged 4 source-level fp32 loads into one
    b4 = bnd.launch_bound(g, flops=0.0, pipe="fp32", counters=c, sass_mix={"LDS.128": 1, "LDG.32": 1})
    assert b4.term("shared").seconds == pytest.approx(b.term("shared").seconds / 4)
    # ... unless the counters are already per SASS instruction
    b5 = bnd.launch_bound(g, flops=0.0, pipe="fp32", counters={**c, "sass_level": True}, sass_mix={"LDS.128": 1})
    assert b5.term("shared").seconds == pytest.approx(b.term("shared").seconds)
    # written bytes L2 can hold are not charged to DRAM
    big = bnd.launch_bound(g, flops=0.0, pipe="fp32", counters={"unique_bytes_written": g.l2_bytes + 1000})
    assert big.term("DRAM").seconds == pytest.approx(1000 / g.bandwidth)


def test_wave_quantization():
    g = gpus.get("h100")   # 132 SMs
    assert bnd.quantization(264, 132, True)[0] == 1.0
    assert bnd.quantization(133, 132, True)[0] == pytest.approx(2 * 132 / 133)
    assert bnd.quantization(133, 132, False)[0] == 1.0           # unequal blocks: no claim
    assert bnd.quantization(66, 132, False)[0] == 2.0            # only 66 SMs can work
    b = bnd.launch_bound(g, flops=1e12, pipe="fp32", counters={"blocks": 133})
    assert b.term("math").seconds == pytest.approx(1e12 / g.peak("fp32") * 2 * 132 / 133)


# Published per-kernel SGEMM figures, RTX A6000, M = N = K = 4092, GFLOP/s (siboehm/SGEMM_CUDA README,
# commit 06d2cf5): kernel -> GFLOP/s.  Any kernel's time is >= the analytic bound of the problem.
SIBOEHM_A6000_4092 = {"1 naive": 309.0, "2 gmem coalescing": 1986.5, "3 smem caching": 2980.3,
                      "4 1D blocktiling": 8474.7, "5 2D blocktiling": 15971.7, "6 vectorized": 18237.3,
                      "7 linearize": 16213.4, "8 offset": 16459.2, "9 autotuning": 19721.0,
                      "10 warptiling": 21779.3, "11 double buffering": 17278.3, "0 cuBLAS": 23249.6}

# Mark Harris, "Optimizing Parallel Reduction in CUDA" (NVIDIA, 2007): 2^22 ints on a GeForce 8800 GTX
# (G80: 16 SMs of 8 lanes at 1.35 GHz, 86.4 GB/s), ms per kernel 1..7.
HARRIS_G80_MS = [8.054, 3.456, 1.722, 0.965, 0.536, 0.381, 0.268]
G80 = gpus.GpuSpec("GeForce 8800 GTX", ("8800",), {"float32": 0.3456e12}, 86.4e9, "GDDR3 768 MB", sms=16,
                   boost_mhz=1350, max_mhz=1350, l2_bytes=0, per_sm_clk={"fp32": 16})


def _analytic_bound(g, op, shape, dtype, pipe):
    flops, rd, wr = analytic(op, shape, dtype)
    return bnd.launch_bound(g, flops=flops, pipe=pipe, dtype=dtype,
                            counters={"unique_bytes_read": rd, "unique_bytes_written": wr})


def test_published_sgemm_ladder_never_beats_the_bound():
    g = gpus.get("a6000")
    b = _analytic_bound(g, "matmul", (4092, 4092, 4092), "float32", "fp32")
    assert b.binds == "math"
    for kernel, gflops in SIBOEHM_A6000_4092.items():
        t = 2 * 4092 ** 3 / (gflops * 1e9)
        assert t >= b.seconds, kernel
    # cuBLAS at 23.2 TFLOP/s is 51 % of this bound's rate (45.2 TFLOP/s at 2100 MHz, 84 SMs x 128 lanes)
    assert 2 * 4092 ** 3 / b.seconds / 1e12 == pytest.approx(84 * 256 * 2.1e9 / 1e12, rel=1e-3)


def test_published_reduction_ladder_never_beats_the_bound():
    b = _analytic_bound(G80, "reduce", (1 << 22,), "float32", "fp32")
    assert b.binds == "DRAM" and b.seconds == pytest.approx(4 * (1 << 22) / 86.4e9)
    for ms in HARRIS_G80_MS:
        assert ms * 1e-3 >= b.seconds


def test_a_figure_faster_than_its_bound_is_caught():
    fast = {"peaks": {"cuda": {"name": "NVIDIA H100 80GB HBM3"}}, "entries": [
        {"device": "cuda", "op": "matmul", "dtype": "float16", "impl": "cublas_torch",
         "case": {"shape": [4096, 4096, 4096]}, "median_s": 2 * 4096 ** 3 / 1500e12},   # 1500 TFLOP/s: impossible
        {"device": "cuda", "op": "reduce", "dtype": "float32", "impl": "cub_device_reduce",
         "case": {"shape": [1 << 28], "dim": None}, "median_s": 4 * (1 << 28) / 3.0e12}]}  # 3.0 TB/s: possible
    bad = check_measurements(fast)
    assert len(bad) == 1 and "cublas_torch" in bad[0]


def test_committed_gpu_figures_never_beat_their_bound():
    import json
    files = sorted((ROOT / "results").glob("**/*.json"))
    bad = [v for f in files for v in check_measurements(json.loads(f.read_text()))]
    assert bad == []


def test_shapes_and_analytic_minimum():
    assert parse_shape("4096x4096x4096") == (4096, 4096, 4096) and parse_shape("2^28") == (1 << 28,)
    assert analytic("matmul", (2, 8, 4, 16), "float16") == (2.0 * 2 * 8 * 4 * 16, 2 * (8 * 16 + 16 * 4) * 2, 2 * 8 * 4 * 2)
    assert analytic("reduce", (4, 6), "float32", 1) == (24.0, 96, 16)
    assert math.isclose(analytic("reduce", (1 << 28,), "float32")[1], 4 * (1 << 28))
