"""Theoretical occupancy from the CUDA occupancy rules (the Occupancy Calculator's), with the resource
that limits it.

Blocks per SM = the least of four limits:
  warps      max warps per SM // warps per block
  blocks     the hardware's max resident blocks per SM
  registers  registers are allocated per warp, rounded up to 256, within each of the 4 sub-partitions
             (65536 / 4 registers each): warps per SM = 4 * (16384 // regs per warp); blocks = that //
             warps per block.  0 when the block exceeds the per-block register file.
  shared     (static + dynamic + the per-block reserve) rounded up to 128 B, into the largest
             shared-memory carveout of the SM.  0 when it exceeds the per-block maximum.
"""
from __future__ import annotations

from dataclasses import dataclass

from .gpus import ArchLimits, GpuSpec


def _round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


@dataclass(frozen=True)
class Occupancy:
    blocks_per_sm: int
    warps_per_sm: int
    max_warps_per_sm: int
    limits: dict          # resource -> blocks per SM it allows
    limiter: str          # the resource(s) that set blocks_per_sm, e.g. "registers" or "warps, shared memory"
    regs_per_warp: int    # allocated (rounded)
    smem_per_block: int   # allocated (rounded, with the reserve)

    @property
    def fraction(self) -> float:
        return self.warps_per_sm / self.max_warps_per_sm

    def describe(self) -> str:
        return (f"{self.blocks_per_sm} block{'s' if self.blocks_per_sm != 1 else ''}/SM, "
                f"{self.warps_per_sm}/{self.max_warps_per_sm} warps ({self.fraction:.0%}), limited by {self.limiter}")


def occupancy(limits: ArchLimits, threads_per_block: int, registers: int, static_smem: int = 0,
              dynamic_smem: int = 0) -> Occupancy:
    """Resident blocks per SM for a kernel using `registers` per thread and that shared memory."""
    if threads_per_block <= 0 or threads_per_block > limits.max_threads_per_block:
        raise ValueError(f"threads_per_block: {threads_per_block} is not in 1..{limits.max_threads_per_block}")
    warps = -(-threads_per_block // 32)
    regs_per_warp = _round_up(max(registers, 1) * 32, limits.reg_alloc_unit)
    per_part = limits.regs_per_sm // limits.sub_partitions
    fits_regs = (registers <= limits.max_regs_per_thread
                 and regs_per_warp * _round_up(warps, limits.sub_partitions) <= limits.max_regs_per_block)
    smem = _round_up(static_smem + dynamic_smem + limits.smem_reserved_per_block, limits.smem_alloc_unit)
    fits_smem = static_smem + dynamic_smem <= limits.max_smem_per_block
    lim = {
        "warps": limits.max_warps_per_sm // warps,
        "blocks": limits.max_blocks_per_sm,
        "registers": (limits.sub_partitions * (per_part // regs_per_warp)) // warps if fits_regs else 0,
        "shared memory": limits.smem_per_sm // smem if fits_smem else 0,
    }
    blocks = min(lim.values())
    limiter = ", ".join(k for k, v in lim.items() if v == blocks)
    return Occupancy(blocks, blocks * warps, limits.max_warps_per_sm, lim, limiter, regs_per_warp, smem)


def for_gpu(gpu: GpuSpec, threads_per_block: int, registers: int, static_smem: int = 0,
            dynamic_smem: int = 0) -> Occupancy:
    if gpu.limits is None:
        raise ValueError(f"gpu: no occupancy limits for {gpu.name}")
    return occupancy(gpu.limits, threads_per_block, registers, static_smem, dynamic_smem)
