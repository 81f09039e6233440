"""The GPU table: every figure the benchmark's "% of peak", the occupancy rules and the speed-of-light
bound need, each with its public source.

Two levels:
  ARCH_LIMITS   per compute capability: the CUDA occupancy rules (threads, warps, blocks, registers,
                shared memory and their allocation units).  Source: the CUDA C++ Programming Guide,
                "Technical Specifications per Compute Capability", and the CUDA Occupancy Calculator
                (cuda_occupancy.h: register unit 256 per warp, 4 sub-partitions, shared-memory unit
                128 B, 1 KB reserved per block on cc >= 8.0).
  GPUS          per product: SM count, clocks, caches, bandwidths and peaks (datasheets and
                architecture whitepapers).  Datasheet FLOP/s are dense (no sparsity); float16/bfloat16
                and tf32 are tensor-core figures with fp32 accumulation, float32/float64 the SIMT ones.

Clocks: `boost_mhz` is the datasheet's boost clock (what its TFLOP/s are computed at); `max_mhz` is
the highest SM clock the part can run at (its clock table's maximum, as `nvidia-smi -q -d CLOCK`
reports under "Max Clocks"): GeForce and RTX parts run well above their rated boost under load, so a
bound -- which must never be beaten -- uses `max_mhz`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

T = 1e12
KB = 1024

PROGRAMMING_GUIDE = "CUDA C++ Programming Guide, Technical Specifications per Compute Capability"
OCC_CALC = "CUDA Occupancy Calculator (cuda_occupancy.h)"


@dataclass(frozen=True)
class ArchLimits:
    """What the occupancy rules need for one compute capability."""
    cc: int                          # 10*major + minor
    max_threads_per_sm: int
    max_blocks_per_sm: int
    max_threads_per_block: int
    regs_per_sm: int                 # 32-bit registers
    max_regs_per_block: int
    max_regs_per_thread: int
    reg_alloc_unit: int              # registers, per warp
    sub_partitions: int              # registers are allocated within each of these
    smem_per_sm: int                 # bytes, largest carveout
    max_smem_per_block: int          # bytes, with the opt-in attribute (48 KB without)
    smem_alloc_unit: int             # bytes
    smem_reserved_per_block: int     # bytes the system takes per block
    schedulers_per_sm: int = 4       # warp schedulers, one instruction per clock each
    source: str = f"{PROGRAMMING_GUIDE}; allocation units: {OCC_CALC}"

    @property
    def max_warps_per_sm(self) -> int:
        return self.max_threads_per_sm // 32


ARCH_LIMITS = {
    80: ArchLimits(80, 2048, 32, 1024, 65536, 65536, 255, 256, 4, 164 * KB, 163 * KB, 128, 1 * KB),
    86: ArchLimits(86, 1536, 16, 1024, 65536, 65536, 255, 256, 4, 100 * KB, 99 * KB, 128, 1 * KB),
    89: ArchLimits(89, 1536, 24, 1024, 65536, 65536, 255, 256, 4, 100 * KB, 99 * KB, 128, 1 * KB),
    90: ArchLimits(90, 2048, 32, 1024, 65536, 65536, 255, 256, 4, 228 * KB, 227 * KB, 128, 1 * KB),
}


@dataclass(frozen=True)
class GpuSpec:
    name: str                  # the product, as the datasheet names it
    match: tuple               # every substring must occur in the upper-cased device name
    flops: dict                # dtype -> FLOP/s (datasheet, dense)
    bandwidth: float           # DRAM bytes/s (datasheet)
    memory: str                # memory type and size
    exclude: tuple = ()        # none of these may occur
    min_mem_gb: float = 0.0    # device memory bounds, to tell the 40 GB and 80 GB parts apart
    max_mem_gb: float = 1e9
    source: str = "NVIDIA datasheet"
    # ---- what explain / occupancy / the bound need (None: not filled in for this part) ----
    key: Optional[str] = None          # short name for the CLI (--gpu h100)
    cc: Optional[int] = None           # compute capability, 10*major+minor (key of ARCH_LIMITS)
    sass_arch: Optional[str] = None    # the cubin its kernels run (compiler_facts.json)
    sms: Optional[int] = None
    boost_mhz: Optional[int] = None    # datasheet boost clock
    max_mhz: Optional[int] = None      # highest SM clock the part reaches (see module docstring)
    l2_bytes: Optional[int] = None
    l2_bytes_per_clk: Optional[int] = None  # None where NVIDIA publishes no figure (not used by the bound)
    smem_bytes_per_clk: int = 128      # per SM: 32 banks x 4 B (one wavefront per clock)
    l1_sectors_per_clk: int = 4        # per SM: the L1TEX data path, 128 B = 4 sectors per clock
    # dense FLOP per clock per SM, by pipe: fp32 / fp64 SIMT (2 per FMA lane) and tensor cores
    per_sm_clk: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)   # field -> source

    @property
    def limits(self) -> Optional[ArchLimits]:
        return ARCH_LIMITS.get(self.cc) if self.cc else None

    def peak(self, pipe: str, clock: str = "max") -> Optional[float]:
        """FLOP/s of one pipe ("fp32", "fp64", "fp16", "bf16", "tf32") at the max or boost clock: the
        per-SM rate x SMs x clock, and never less than the datasheet figure scaled to that clock
        (where a datasheet rounds up, or counts a unit the per-SM rate does not)."""
        rate = self.per_sm_clk.get(pipe)
        mhz = self.max_mhz if clock == "max" else self.boost_mhz
        if rate is None or not self.sms or not mhz:
            return None
        sheet = self.flops.get(PIPE_DTYPE[pipe])
        scaled = sheet * mhz / self.boost_mhz if sheet and self.boost_mhz else 0.0
        return max(rate * self.sms * mhz * 1e6, scaled)


PIPE_DTYPE = {"fp32": "float32", "fp64": "float64", "fp16": "float16", "bf16": "bfloat16", "tf32": "tf32"}


def _f(fp32, fp64, tf32=None, half=None) -> dict:
    d = {"float32": fp32 * T, "float64": fp64 * T}
    if tf32 is not None:
        d["tf32"] = tf32 * T
    if half is not None:
        d["float16"] = half * T
        d["bfloat16"] = half * T
    return d


def _rates(fp32_lanes, fp64_lanes, half, tf32) -> dict:
    """FLOP/clk/SM: SIMT pipes at 2 FLOP per FMA lane; tensor cores dense, fp32 accumulation."""
    return {"fp32": 2 * fp32_lanes, "fp64": 2 * fp64_lanes, "fp16": half, "bf16": half, "tf32": tf32}


_H100_WP = "NVIDIA H100 Tensor Core GPU Architecture whitepaper (GH100 SXM5: 132 SMs, 50 MB L2, 128 FP32 lanes/SM, 2x A100's tensor rate per SM per clock)"
_A100_WP = "NVIDIA A100 Tensor Core GPU Architecture whitepaper (108 SMs, 40 MB L2, 1410 MHz boost, L2 read 5120 B/clk, 64 FP32 lanes/SM, 1024 dense FP16 FMA/clk/SM)"
_ADA_WP = "NVIDIA Ada GPU Architecture whitepaper (AD102 in RTX 4090: 128 SMs, 72 MB L2, 2520 MHz boost; AD104 in L4: 58 SMs, 48 MB L2)"
_GA102_WP = "NVIDIA Ampere GA102 GPU Architecture whitepaper (128 FP32 lanes/SM, 6 MB L2 in the full GA102)"
_SMEM = "CUDA C++ Programming Guide, Shared Memory (32 banks, 4 B each per clock) -> 128 B/clk/SM"
_L1 = "NVIDIA Volta/Ampere/Hopper tuning guides: L1 and shared memory share one 128 B/clk data path per SM"
_MAXCLK = "nvidia-smi -q -d CLOCK, Max Clocks (SM)"

# Order matters: the first entry whose substrings all match wins.
GPUS = (
    GpuSpec("H200 NVL", ("H200", "NVL"), _f(60, 30, 417.5, 835.5), 4.8 * T, "HBM3e 141 GB"),
    GpuSpec("GH200 (HBM3e)", ("GH200",), _f(67, 34, 494.7, 989.4), 4.9 * T, "HBM3e 144 GB", min_mem_gb=120),
    GpuSpec("GH200 (HBM3)", ("GH200",), _f(67, 34, 494.7, 989.4), 4.0 * T, "HBM3 96 GB"),
    GpuSpec("H200 SXM", ("H200",), _f(67, 34, 494.7, 989.4), 4.8 * T, "HBM3e 141 GB",
            key="h200", cc=90, sass_arch="sm_90a", sms=132, boost_mhz=1980, max_mhz=1980, l2_bytes=50 << 20,
            per_sm_clk=_rates(128, 64, 4096, 2048),
            sources={"sms/l2/rates": _H100_WP + " (H200 is the same GH100 with HBM3e)",
                     "flops/bandwidth": "NVIDIA H200 datasheet (SXM: 4.8 TB/s, 141 GB)",
                     "max_mhz": _MAXCLK + ": 1980 MHz, the clock the datasheet's 67 TFLOP/s FP32 implies",
                     "smem": _SMEM, "l1": _L1, "limits": ARCH_LIMITS[90].source}),
    GpuSpec("H100 NVL", ("H100", "NVL"), _f(60, 30, 417.5, 835.5), 3.9 * T, "HBM3 94 GB"),
    GpuSpec("H100 PCIe", ("H100", "PCIE"), _f(51.2, 25.6, 378, 756.5), 2.0 * T, "HBM2e 80 GB"),
    GpuSpec("H100 SXM5", ("H100",), _f(67, 34, 494.7, 989.4), 3.35 * T, "HBM3 80 GB",
            key="h100", cc=90, sass_arch="sm_90a", sms=132, boost_mhz=1980, max_mhz=1980, l2_bytes=50 << 20,
            per_sm_clk=_rates(128, 64, 4096, 2048),
            sources={"sms/l2/rates": _H100_WP, "flops/bandwidth": "NVIDIA H100 datasheet (SXM5: 3.35 TB/s HBM3)",
                     "max_mhz": _MAXCLK + ": 1980 MHz, the clock the datasheet's 67 TFLOP/s FP32 implies",
                     "smem": _SMEM, "l1": _L1, "limits": ARCH_LIMITS[90].source}),
    GpuSpec("A100 SXM4 80GB", ("A100", "SXM"), _f(19.5, 9.7, 156, 312), 2.039 * T, "HBM2e 80 GB", min_mem_gb=60,
            key="a100", cc=80, sass_arch="sm_80", sms=108, boost_mhz=1410, max_mhz=1410, l2_bytes=40 << 20,
            l2_bytes_per_clk=5120, per_sm_clk=_rates(64, 32, 2048, 1024),
            sources={"sms/l2/rates": _A100_WP, "flops/bandwidth": "NVIDIA A100 datasheet (SXM4 80GB: 2039 GB/s)",
                     "max_mhz": _MAXCLK + ": 1410 MHz (= boost)", "smem": _SMEM, "l1": _L1,
                     "limits": ARCH_LIMITS[80].source}),
    GpuSpec("A100 SXM4 40GB", ("A100", "SXM"), _f(19.5, 9.7, 156, 312), 1.555 * T, "HBM2 40 GB"),
    GpuSpec("A100 PCIe 80GB", ("A100",), _f(19.5, 9.7, 156, 312), 1.935 * T, "HBM2e 80 GB", min_mem_gb=60),
    GpuSpec("A100 PCIe 40GB", ("A100",), _f(19.5, 9.7, 156, 312), 1.555 * T, "HBM2 40 GB"),
    GpuSpec("L40S", ("L40S",), _f(91.6, 1.43, 183, 362.05), 0.864 * T, "GDDR6 48 GB"),
    GpuSpec("L4", ("L4",), _f(30.3, 0.49, 60, 121), 0.300 * T, "GDDR6 24 GB", exclude=("L40",),
            key="l4", cc=89, sass_arch="sm_89", sms=58, boost_mhz=2040, max_mhz=2040, l2_bytes=48 << 20,
            per_sm_clk=_rates(128, 2, 1024, 512),
            sources={"sms/l2": _ADA_WP, "flops/bandwidth": "NVIDIA L4 datasheet (30.3 TFLOP/s FP32, 121 FP16 "
                     "tensor dense, 300 GB/s)", "rates": "datasheet TFLOP/s / (58 SMs x 2040 MHz)",
                     "max_mhz": _MAXCLK + ": 2040 MHz (= boost)", "smem": _SMEM, "l1": _L1,
                     "limits": ARCH_LIMITS[89].source}),
    GpuSpec("A10", ("A10",), _f(31.2, 0.98, 62.5, 125), 0.600 * T, "GDDR6 24 GB", exclude=("A100", "A10G")),
    GpuSpec("A10G", ("A10G",), _f(31.2, 0.98), 0.600 * T, "GDDR6 24 GB"),
    GpuSpec("RTX A6000", ("A6000",), _f(38.7, 1.21, 77.4, 154.8), 0.768 * T, "GDDR6 48 GB", exclude=("ADA",),
            key="a6000", cc=86, sass_arch="sm_86", sms=84, boost_mhz=1800, max_mhz=2100, l2_bytes=6 << 20,
            per_sm_clk=_rates(128, 2, 1024, 512),
            sources={"sms/l2": _GA102_WP + "; RTX A6000: 84 SMs (10752 CUDA cores)",
                     "flops/bandwidth": "NVIDIA RTX A6000 datasheet (38.7 TFLOP/s FP32, 309.7 sparse FP16 tensor "
                     "= 154.8 dense, 768 GB/s)", "rates": "datasheet TFLOP/s / (84 SMs x 1800 MHz)",
                     "max_mhz": _MAXCLK + ": 2100 MHz (boost 1800 MHz)", "smem": _SMEM, "l1": _L1,
                     "limits": ARCH_LIMITS[86].source}),
    GpuSpec("GeForce RTX 4090", ("4090",), _f(82.6, 1.29, 82.6, 165.2), 1.008 * T, "GDDR6X 24 GB",
            key="4090", cc=89, sass_arch="sm_89", sms=128, boost_mhz=2520, max_mhz=3105, l2_bytes=72 << 20,
            per_sm_clk=_rates(128, 2, 512, 256),
            sources={"sms/l2": _ADA_WP, "flops/bandwidth": "NVIDIA Ada whitepaper, RTX 4090 (82.6 TFLOP/s FP32, "
                     "165.2 FP16 tensor dense with FP32 accumulation, 1008 GB/s)",
                     "rates": "datasheet TFLOP/s / (128 SMs x 2520 MHz)",
                     "max_mhz": _MAXCLK + ": 3105 MHz (boost 2520; 2655 MHz observed in NVIDIA/nvbench PR #207, "
                     "2820 MHz in noonghunna/club-3090 issue #697)", "smem": _SMEM, "l1": _L1,
                     "limits": ARCH_LIMITS[89].source}),
    GpuSpec("GeForce RTX 3090", ("3090",), _f(35.6, 0.56, 35.6, 71), 0.936 * T, "GDDR6X 24 GB"),
    GpuSpec("T4", ("T4",), _f(8.1, 0.25, None, 65), 0.320 * T, "GDDR6 16 GB", exclude=("RTX",)),
    GpuSpec("V100 SXM2", ("V100", "SXM"), _f(15.7, 7.8, None, 125), 0.900 * T, "HBM2 16/32 GB"),
    GpuSpec("V100 PCIe", ("V100",), _f(14, 7, None, 112), 0.900 * T, "HBM2 16/32 GB"),
)


def lookup_gpu(name: str, memory_bytes: Optional[float] = None) -> Optional[GpuSpec]:
    """The datasheet entry for a device name (as torch / nvidia-smi report it) and memory size."""
    up = (name or "").upper()
    mem_gb = (memory_bytes or 0) / 1e9
    for spec in GPUS:
        if not all(m in up for m in spec.match):
            continue
        if any(x in up for x in spec.exclude):
            continue
        if memory_bytes is not None and not (spec.min_mem_gb <= mem_gb <= spec.max_mem_gb):
            continue
        return spec
    return None


def explainable() -> list:
    """The GPUs with every figure explain and the bound need, in table order."""
    return [g for g in GPUS if g.key]


def get(key: str) -> GpuSpec:
    """A GPU by its short key (h100, h200, a100, 4090, a6000, l4) or by name."""
    k = key.lower().replace("rtx", "").replace(" ", "").replace("-", "")
    for g in explainable():
        if k in (g.key, g.name.lower().replace(" ", "")):
            return g
    g = lookup_gpu(key)
    if g is not None and g.key:
        return g
    raise ValueError(f"gpu: unknown {key!r}; known: {', '.join(g.key for g in explainable())}")
