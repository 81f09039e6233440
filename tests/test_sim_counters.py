"""Memory counters of the CPU SIMT executor (csrc/sim/kbsim_counters.h): small kernels whose
counts are derived by hand (tests/sim/counter_kernels.cu), each asserted exactly.

Hardware model the numbers follow (the Nsight Compute definitions): a request is one warp-level
instance of one instruction; a global request touches ceil-aligned 32-byte sectors; shared memory
has 32 banks of 4 bytes, a <= 4-byte access is one phase of 32 lanes, 8 bytes two phases of 16,
16 bytes four phases of 8; a phase costs the most distinct words any one bank serves."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from kernelbench import sim

ROOT = Path(__file__).resolve().parents[1]
CUDA_HOME = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))

pytestmark = pytest.mark.skipif(not (CUDA_HOME / "include" / "cuda_runtime.h").exists(),
                                reason="the executor needs the CUDA headers")


@pytest.fixture(scope="module")
def counter_exe(tmp_path_factory):
    """counter_kernels.cu with the access hooks, linked with the executor's own sources."""
    return sim.build_hooked_program(ROOT / "tests/sim/counter_kernels.cu", tmp_path_factory.mktemp("counters"))


def counts(exe, case: str, *extra: str) -> tuple[dict, list]:
    p = subprocess.run([str(exe), case, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
                       env=dict(os.environ, KBSIM_SEED="1"))
    assert p.returncode == 0, p.stdout[-2000:]
    values = {m.group(1): float(m.group(2)) for m in re.finditer(r"^COUNT (\S+) (\S+)$", p.stdout, re.M)}
    for key in ("BLOCKS_RUN", "EXACT"):
        m = re.search(rf"^{key} (\d+)$", p.stdout, re.M)
        values[key] = int(m.group(1)) if m else None
    sites = re.findall(r"^SITE (.*)$", p.stdout, re.M)
    return values, sites


# (case, exact counts derived by hand)
CASES = [
    # 32 lanes x 4 bytes at consecutive addresses: 128 bytes = 4 sectors, one request.
    ("coalesced_load", {"global_load_requests": 1, "global_load_sectors": 4,
                        "global_store_requests": 1, "global_store_sectors": 4}),
    # lane l reads x[64 l]: 256 bytes apart, every lane its own sector -> 32 sectors for one request
    # (the naive matmul's A load).
    ("row_strided_load", {"global_load_requests": 1, "global_load_sectors": 32}),
    # s[32 l]: word 32 l is in bank 0 for every lane -> 32 wavefronts for the store and for the load,
    # the ideal being 1 each.
    ("bank_conflict_32way", {"shared_store_requests": 1, "shared_store_wavefronts": 32,
                             "shared_load_requests": 1, "shared_load_wavefronts": 32,
                             "shared_ideal_wavefronts": 2, "barriers": 1}),
    # s[33 l]: bank (33 l) mod 32 = l, all different -> 1 wavefront each.
    ("bank_conflict_padded", {"shared_store_requests": 1, "shared_store_wavefronts": 1,
                              "shared_load_requests": 1, "shared_load_wavefronts": 1, "shared_ideal_wavefronts": 2}),
    # float4 s[l]: 512 bytes in four phases of 8 lanes x 16 bytes = 128 bytes, each conflict-free -> 4.
    # The fill loop: two 16-byte stores per lane (i = l, l + 32) -> 2 requests x 4 wavefronts.
    # Global: out[l] as float4, 512 bytes = 16 sectors; x[0] read twice per lane -> 2 requests, 1 sector each.
    ("lds128", {"shared_load_requests": 1, "shared_load_wavefronts": 4, "shared_store_requests": 2,
                "shared_store_wavefronts": 8, "shared_ideal_wavefronts": 12, "global_store_sectors": 16,
                "global_load_requests": 2, "global_load_sectors": 2}),
    # float4 s[2 l]: a phase of 8 lanes covers bytes 0 .. 255: lanes l and l + 4 share banks -> 2 per
    # phase -> 8 wavefronts, ideal 4.
    ("lds128_stride2", {"shared_load_requests": 1, "shared_load_wavefronts": 8}),
    # every lane reads s[0] / x[0]: one word, one wavefront; one sector.
    ("broadcast", {"shared_load_requests": 1, "shared_load_wavefronts": 1, "global_load_requests": 1,
                   "global_load_sectors": 1}),
    # 64 lanes (2 warps) atomicAdd one counter: 2 warp-level atomics, 32 lanes on one address each.
    ("contended_atomic", {"atomics": 2, "atomic_lane_ops": 64, "atomic_max_same_address": 32,
                          "global_store_requests": 0, "global_load_requests": 0}),
]


@pytest.mark.parametrize("case,want", CASES, ids=[c for c, _ in CASES])
def test_hand_derived_counts(counter_exe, case, want):
    values, sites = counts(counter_exe, case)
    for key, n in want.items():
        assert values.get(key) == n, (case, key, values.get(key), n, sites)


def test_sites_name_file_and_line(counter_exe):
    _, sites = counts(counter_exe, "bank_conflict_32way")
    assert any(re.search(r"counter_kernels\.cu:\d+ shared_store bytes=4 requests=1 sectors=0 wavefronts=32", s)
               for s in sites), sites


def test_unique_bytes(counter_exe):
    # row-strided: 32 floats read (128 distinct bytes), 32 floats written.
    values, _ = counts(counter_exe, "row_strided_load")
    assert values["unique_bytes_read"] == 128 and values["unique_bytes_written"] == 128


SCALED = ("global_load_requests", "global_load_sectors", "global_store_requests", "global_store_sectors",
          "shared_load_requests", "shared_load_wavefronts", "shared_store_requests", "shared_store_wavefronts",
          "shared_ideal_wavefronts", "barriers")


def test_sampled_equals_full(counter_exe):
    # 6 x 7 blocks, partial tiles on two edges, rows 416 bytes apart (a multiple of 32): the sample
    # (first / interior / check / last per dimension: 4 x 4 = 16 blocks) scaled equals the full run.
    full, _ = counts(counter_exe, "tile_copy_ld104")
    sampled, _ = counts(counter_exe, "tile_copy_ld104", "sample")
    assert full["BLOCKS_RUN"] == 42 and sampled["BLOCKS_RUN"] == 16
    assert sampled["EXACT"] == 1
    for key in SCALED:
        assert sampled[key] == full[key], (key, sampled[key], full[key])
    assert full["global_load_requests"] > 0 and full["shared_store_wavefronts"] > 0


def test_sampling_says_when_it_is_not_exact(counter_exe):
    # block b reads from x[4 b]: blocks 1 and 4 (interior and its check) start 16 and 64 bytes into a
    # sector -> 5 and 4 sectors: the blocks of one class differ, and the sampled result must say so.
    full, _ = counts(counter_exe, "skewed_load")
    sampled, _ = counts(counter_exe, "skewed_load", "sample")
    assert full["EXACT"] == 1 and sampled["EXACT"] == 0
    assert full["global_load_requests"] == 6 and sampled["global_load_requests"] == 6


# ------------------------------------------------------------------ rung-level counts, derived by hand
# kernelbench.sim.counters runs a rung through the executor's front door (kernelbench._sim).
needs_sim = pytest.mark.skipif(sim.available() is not None, reason=str(sim.available()))


def launch_of(launches: list, kernel_part: str) -> dict:
    found = [d for d in launches if kernel_part in d["kernel"]]
    assert len(found) == 1, [d["kernel"] for d in launches]
    return found[0]


MATMUL_64 = {
    # cuda_01_naive, 64x64x64 f32.  Block (16, 16): threadIdx.x = row i of C, threadIdx.y = column j, so a
    # warp (32 consecutive threads) is 16 rows x 2 columns.  Grid (4, 4): 16 blocks x 8 warps = 128 warps.
    # Per warp, per q < 64: A[i, q] for 16 rows 256 bytes apart = 16 sectors; B[q, j..j+1] = 8 bytes in
    # one sector = 1.  Loads: 128 x 64 x 2 = 16384 requests, 128 x 64 x (16 + 1) = 139264 sectors.
    # C[i, j..j+1]: 16 rows x 8 bytes = 16 sectors per warp: 128 requests, 2048 sectors.
    "cuda_01_naive": {"global_load_requests": 16384, "global_load_sectors": 139264,
                      "global_store_requests": 128, "global_store_sectors": 2048,
                      "shared_load_requests": 0, "barriers": 0, "blocks": 16, "threads_per_block": 256},
    # cuda_02_coalesced: block (32, 8), a warp is one row i x 32 consecutive columns j; grid (2, 8):
    # 16 blocks x 8 warps = 128 warps.  Per q: A[i, q] one address for all lanes = 1 sector; B[q, j0..j0+31]
    # = 128 bytes = 4 sectors.  Loads: 16384 requests, 128 x 64 x 5 = 40960 sectors; C: 128 requests x 4.
    "cuda_02_coalesced": {"global_load_requests": 16384, "global_load_sectors": 40960,
                          "global_store_requests": 128, "global_store_sectors": 512, "blocks": 16},
    # cuda_03_smem_tiles (TILE 32): block (32, 32) = 32 warps, grid (2, 2): 128 warps, 2 k-tiles.
    # Per warp and k-tile: A[row0 + ty, k0 .. k0+31] and B[k0 + ty, col0 .. col0+31]: 2 requests x 4 sectors;
    # As[ty][tx], Bs[ty][tx] stores: 32 consecutive words = 1 wavefront each; 32 steps q of As[ty][q]
    # (one word: broadcast, 1) and Bs[q][tx] (32 banks, 1); 2 barriers.
    # Loads 128 x 2 x 2 = 512 requests, 2048 sectors; shared stores 512 requests / 512 wavefronts;
    # shared loads 128 x 2 x 64 = 16384 requests / 16384 wavefronts; ideal 512 + 16384 = 16896 (no
    # conflicts: the +1 padding column); barriers 512; C: 128 requests x 4 sectors.
    "cuda_03_smem_tiles": {"global_load_requests": 512, "global_load_sectors": 2048,
                           "global_store_requests": 128, "global_store_sectors": 512,
                           "shared_store_requests": 512, "shared_store_wavefronts": 512,
                           "shared_load_requests": 16384, "shared_load_wavefronts": 16384,
                           "shared_ideal_wavefronts": 16896, "barriers": 512, "blocks": 4,
                           "threads_per_block": 1024},
}


@needs_sim
@pytest.mark.parametrize("rung", sorted(MATMUL_64))
def test_matmul_rung_counts_by_hand(rung):
    launches = sim.counters(rung, (64, 64, 64), "float32", sample=False)
    d = launch_of(launches, rung.replace("cuda_", "matmul_"))
    for key, want in MATMUL_64[rung].items():
        assert d[key] == want, (rung, key, d[key], want, d["sites"])
    # full run: unique bytes are A and B read once, C written once
    assert d["unique_bytes_read"] == 2 * 64 * 64 * 4 and d["unique_bytes_written"] == 64 * 64 * 4


@needs_sim
def test_reduction_rung_counts_by_hand():
    # cuda_03_tree_bank_conflicts, sum of 1024 f32: the first launch, 4 blocks of 256 threads (8 warps).
    # Per block: x loads 8 requests x 4 sectors; sdata[tid] stores 8 requests x 1 wavefront; the tree
    # `sdata[2 s t] += sdata[2 s t + s]` for s = 1 .. 128 (8 levels) is 2 loads + 1 store per active warp:
    #   s:           1   2   4   8  16  32  64 128
    #   warps:       4   2   1   1   1   1   1   1     (threads t < 128 / s)
    #   wavefronts:  2   4   8   8   8   4   2   1     per request (lanes 2 s t apart in words: 32 banks)
    # -> 12 x 3 requests; wavefronts loads 2 x (8+8+8+8+8+4+2+1) = 94, stores 47; then tid 0 reads
    # sdata[0] (1 request, 1 wavefront) and stores parts[b] (1 request, 1 sector).  Barriers: 9 per warp.
    launches = sim.counters("cuda_03_tree_bank_conflicts", (1024,), "float32", op="sum", sample=False)
    d = launch_of(launches, "reduce_03")
    want = {"global_load_requests": 4 * 8, "global_load_sectors": 4 * 32,
            "global_store_requests": 4, "global_store_sectors": 4,
            "shared_store_requests": 4 * (8 + 12), "shared_store_wavefronts": 4 * (8 + 47),
            "shared_load_requests": 4 * (24 + 1), "shared_load_wavefronts": 4 * (94 + 1),
            "shared_ideal_wavefronts": 4 * (20 + 25), "barriers": 4 * 8 * 9, "blocks": 4}
    for key, n in want.items():
        assert d[key] == n, (key, d[key], n, d["sites"])


@needs_sim
def test_sampled_rung_counts_equal_the_full_run():
    # 5 x 5 blocks of 32 x 32 with partial tiles at the right and bottom edges (136 = 4 x 32 + 8
    # columns, 150 = 4 x 32 + 22 rows; K = 96: 3 k-tiles): the sample runs 4 x 4 of them (first,
    # interior, its check, last) and, scaled, must equal the full run; rows of A and B are 384 and
    # 544 bytes, so every block of a class sees the same alignment.
    full = launch_of(sim.counters("cuda_03_smem_tiles", (150, 136, 96), "float32", sample=False), "matmul_03")
    part = launch_of(sim.counters("cuda_03_smem_tiles", (150, 136, 96), "float32", sample=True), "matmul_03")
    assert part["sampled"] and part["exact"] and part["blocks_run"] < full["blocks_run"]
    for key in ("global_load_requests", "global_load_sectors", "global_store_requests", "global_store_sectors",
                "shared_load_requests", "shared_load_wavefronts", "shared_store_requests", "shared_store_wavefronts",
                "barriers"):
        assert part[key] == full[key], (key, part[key], full[key])
