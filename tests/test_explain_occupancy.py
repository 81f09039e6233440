"""Occupancy rules and the GPU table (kernelbench/explain): hand-derived cases, each checked the way
the CUDA Occupancy Calculator computes it (register unit 256 per warp, 4 sub-partitions of 16384
registers, shared memory in 128 B units plus a 1 KB reserve per block)."""
import pytest

from kernelbench.explain import gpus
from kernelbench.explain.occupancy import for_gpu, occupancy


def test_registers_limit_h100_rung05_shape():
    # H100 (cc 9.0), 256 threads, 156 registers, 8 KB static smem:
    #   regs/warp = 156*32 = 4992 -> 5120; 16384 // 5120 = 3 warps per sub-partition -> 12 warps/SM
    #   -> 12 // 8 = 1 block.  warps: 64 // 8 = 8; blocks: 32; smem: 8192+1024 = 9216 -> 233472 // 9216 = 25.
    o = for_gpu(gpus.get("h100"), 256, 156, 8192)
    assert (o.blocks_per_sm, o.warps_per_sm, o.limiter) == (1, 8, "registers")
    assert o.limits == {"warps": 8, "blocks": 32, "registers": 1, "shared memory": 25}
    assert o.fraction == pytest.approx(8 / 64)


def test_warps_limit_a6000_1024_threads():
    # RTX A6000 (cc 8.6): 1536 threads/SM = 48 warps; 1024 threads = 32 warps -> 48 // 32 = 1 block.
    #   32 registers -> 1024/warp; 16384 // 1024 = 16 per sub-partition -> 64 warps -> 2 blocks.
    o = for_gpu(gpus.get("a6000"), 1024, 32)
    assert (o.blocks_per_sm, o.warps_per_sm, o.limiter) == (1, 32, "warps")
    assert o.limits["registers"] == 2
    assert o.fraction == pytest.approx(32 / 48)


def test_shared_memory_limit_a100():
    # A100 (cc 8.0): 48 KB static + 1 KB reserve = 50176 B (a multiple of 128); 164 KB = 167936 B
    #   -> 167936 // 50176 = 3 blocks of 4 warps = 12 of 64 warps.
    o = for_gpu(gpus.get("a100"), 128, 32, 48 * 1024)
    assert (o.blocks_per_sm, o.warps_per_sm, o.limiter) == (3, 12, "shared memory")
    assert o.smem_per_block == 50176


def test_blocks_limit_rtx4090_and_rounding():
    # RTX 4090 (cc 8.9): 32 threads, 16 registers, no smem: the 24-block cap binds (24 of 48 warps).
    o = for_gpu(gpus.get("4090"), 32, 16)
    assert (o.blocks_per_sm, o.limiter) == (24, "blocks")
    # 33 registers: 33*32 = 1056 rounds up to 1280 per warp; 16384 // 1280 = 12 per sub-partition.
    o = for_gpu(gpus.get("4090"), 256, 33)
    assert o.regs_per_warp == 1280 and o.limits["registers"] == (4 * 12) // 8
    # 200 B of smem: 200 + 1024 rounds up to 1280.
    assert for_gpu(gpus.get("l4"), 128, 32, 200).smem_per_block == 1280


def test_does_not_fit():
    lim = gpus.ARCH_LIMITS[90]
    assert occupancy(lim, 1024, 255).blocks_per_sm == 0            # 255*32 -> 8192/warp x 32 warps > 65536
    assert occupancy(lim, 128, 32, 228 * 1024).blocks_per_sm == 0  # over the 227 KB per-block maximum
    with pytest.raises(ValueError):
        occupancy(lim, 2048, 32)


def test_gpu_table_is_complete_and_sourced():
    keys = {g.key for g in gpus.explainable()}
    assert {"h100", "h200", "a100", "4090", "a6000", "l4"} <= keys
    for g in gpus.explainable():
        assert g.sms and g.max_mhz >= g.boost_mhz and g.l2_bytes and g.limits is not None, g.name
        assert {"max_mhz", "smem", "l1", "limits"} <= set(g.sources), g.name
        for pipe, dtype in gpus.PIPE_DTYPE.items():
            # the bound's peak (max clock) never under the datasheet figure it must dominate
            if dtype in g.flops:
                assert g.peak(pipe) >= g.flops[dtype] * 0.999, (g.name, pipe)
    # the lookup still tells the parts apart
    assert gpus.lookup_gpu("NVIDIA RTX A6000").key == "a6000"
    assert gpus.lookup_gpu("NVIDIA RTX 6000 Ada Generation") is None
    with pytest.raises(ValueError):
        gpus.get("no-such-gpu")
