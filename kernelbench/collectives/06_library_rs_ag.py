"""dist_06_library_rs_ag: the library's reduce_scatter_tensor then all_gather_into_tensor -- the
ring's two halves as two library calls (what sharded data parallelism, e.g. FSDP / ZeRO, calls).
Adds over 05: the halves are separate, so a program can work on its shard between them.
Still limits it: the library's calls need equal shards, so a size not divisible by n is padded
(a copy, with the op's identity) and cut back; two calls pay two latencies.
Preconditions: reduce_scatter_tensor in the backend (NCCL; Gloo in recent torch)."""
import warnings

import torch
import torch.distributed as dist

from .world import identity, reduce_op

# Recent torch calls both names deprecated (in favour of *_single) and warns on every call; they are
# the names sharded data-parallel code calls, and exist in every torch 2.x.
warnings.filterwarnings("ignore", message=r".*(reduce_scatter_tensor|all_gather_into_tensor)` is deprecated",
                        category=FutureWarning)


def reduce_scatter(x: torch.Tensor, op: str, w) -> torch.Tensor:
    """This rank's shard (ceil(S/n) elements) of the op over every rank's x."""
    flat = x.view(-1)
    shard = -(-flat.numel() // w.size)
    if shard * w.size != flat.numel():
        padded = torch.full((shard * w.size,), identity(op), dtype=x.dtype, device=x.device)
        padded[:flat.numel()].copy_(flat)
        flat = padded
    out = torch.empty(shard, dtype=x.dtype, device=x.device)
    dist.reduce_scatter_tensor(out, flat, op=reduce_op(op), group=w.group)
    return out


def all_gather_(x: torch.Tensor, shard: torch.Tensor, w) -> None:
    """Every rank's shard, concatenated into x (in place; the padding cut off)."""
    flat = x.view(-1)
    if shard.numel() * w.size == flat.numel():
        dist.all_gather_into_tensor(flat, shard, group=w.group)
        return
    full = torch.empty(shard.numel() * w.size, dtype=x.dtype, device=x.device)
    dist.all_gather_into_tensor(full, shard, group=w.group)
    flat.copy_(full[:flat.numel()])


def all_reduce_(x: torch.Tensor, op: str, w) -> torch.Tensor:
    if w.size == 1 or x.numel() == 0:
        return x
    all_gather_(x, reduce_scatter(x, op, w), w)
    return x
