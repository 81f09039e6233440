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


def owned(numel: int, rank: int, size: int) -> slice:
    """This rank's shard: ceil(S/n) elements from rank * ceil(S/n) (the last one shorter or empty)."""
    shard = -(-numel // size)
    return slice(min(rank * shard, numel), min((rank + 1) * shard, numel))


def reduce_scatter_(x: torch.Tensor, op: str, w) -> torch.Tensor:
    """This rank's shard of the op over every rank's x (x itself is left as it was)."""
    flat = x.view(-1)
    if w.size == 1 or flat.numel() == 0:
        return flat
    shard = -(-flat.numel() // w.size)
    if shard * w.size != flat.numel():
        padded = torch.full((shard * w.size,), identity(op), dtype=x.dtype, device=x.device)
        padded[:flat.numel()].copy_(flat)
        flat = padded
    out = torch.empty(shard, dtype=x.dtype, device=x.device)
    dist.reduce_scatter_tensor(out, flat, op=reduce_op(op), group=w.group)
    own = owned(x.numel(), w.rank, w.size)
    return out[:own.stop - own.start]


def _gather(flat: torch.Tensor, part: torch.Tensor, w) -> None:
    """Every rank's `part` (its shard, at most ceil(S/n) elements, not inside flat) into flat."""
    shard = -(-flat.numel() // w.size)
    if shard * w.size == flat.numel() and part.numel() == shard:
        dist.all_gather_into_tensor(flat, part, group=w.group)
        return
    padded = torch.zeros(shard, dtype=flat.dtype, device=flat.device)
    padded[:part.numel()].copy_(part)
    full = torch.empty(shard * w.size, dtype=flat.dtype, device=flat.device)
    dist.all_gather_into_tensor(full, padded, group=w.group)
    flat.copy_(full[:flat.numel()])


def all_gather_(x: torch.Tensor, w) -> torch.Tensor:
    """In place: each rank's shard (at owned(...) of its x) into every rank's x."""
    flat = x.view(-1)
    if w.size > 1 and flat.numel():
        _gather(flat, flat[owned(flat.numel(), w.rank, w.size)].clone(), w)   # (all_gather's input may not lie in its output)
    return x


def all_reduce_(x: torch.Tensor, op: str, w) -> torch.Tensor:
    if w.size == 1 or x.numel() == 0:
        return x
    _gather(x.view(-1), reduce_scatter_(x, op, w), w)
    return x
