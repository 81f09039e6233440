"""dist_05_library_all_reduce: torch.distributed.all_reduce -- the library every framework calls
(Gloo's ring / halving-doubling on CPU, NCCL's ring or tree on GPUs).
Adds over 04: the vendor's algorithm choice per size, reductions in its own threads / kernels, and
(NCCL) shared memory, NVLink and copy engines that our point-to-point rungs cannot reach.
Still limits it: on one CPU machine Gloo still moves every byte through loopback TCP.
Preconditions: the backend supports the dtype and op (Gloo and NCCL: fp32, fp64, bf16; sum/max/min)."""
import torch
import torch.distributed as dist

from .world import reduce_op


def all_reduce_(x: torch.Tensor, op: str, w) -> torch.Tensor:
    if w.size == 1 or x.numel() == 0:
        return x
    dist.all_reduce(x, op=reduce_op(op), group=w.group)
    return x
