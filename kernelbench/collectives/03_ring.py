"""dist_03_ring: reduce-scatter then all-gather around a ring, in n chunks, with isend/irecv; each
step's local reduction is our own reduction rung (kernelbench.reduce of a (2, chunk) stack).
Adds over 02: each rank sends 2(n-1)/n * S bytes in total, whatever n is -- the bandwidth-optimal
amount -- and every link and core works in every step.
Still limits it: 2(n-1) steps, each a full round trip of latency, so small buffers are slower than
the tree; within a step the reduction waits for the whole chunk to arrive (04 overlaps them).
Preconditions: none beyond the world's; any size (chunks differ by at most one element; empty
chunks move nothing)."""
import torch

from .world import wait


def bounds(numel: int, n: int) -> list:
    """Chunk i is [b[i], b[i+1]): n chunks whose sizes differ by at most one."""
    return [i * numel // n for i in range(n + 1)]


def owned(numel: int, rank: int, size: int) -> slice:
    """Where this rank's reduced chunk lies after the reduce-scatter: chunk (rank + 1) % n."""
    b = bounds(numel, size)
    i = (rank + 1) % size
    return slice(b[i], b[i + 1])


def reduce_scatter_(x: torch.Tensor, op: str, w) -> torch.Tensor:
    """In place; afterwards x[owned(...)] holds the op over every rank (returned, a view)."""
    n, r = w.size, w.rank
    flat, b = x.view(-1), bounds(x.numel(), n)
    right, left = (r + 1) % n, (r - 1) % n
    chunk = lambda i: flat[b[i % n]:b[i % n + 1]]                              # noqa: E731
    pair = torch.empty((2, b[1] - b[0] + (x.numel() % n > 0)), dtype=x.dtype, device=x.device)   # (mine, received)
    for step in range(n - 1):
        send, mine = chunk(r - step), chunk(r - step - 1)
        m = mine.numel()
        wait(w.exchange(send, right, pair[1, :m], left, tag=step))
        pair[0, :m].copy_(mine)
        mine.copy_(w.combine(pair[:, :m], op))
    return flat[owned(x.numel(), w.rank, w.size)]


def all_gather_(x: torch.Tensor, w) -> torch.Tensor:
    """In place: each rank r holds its chunk at owned(...) = chunk (r + 1) % n; afterwards every
    rank holds every chunk."""
    n, r = w.size, w.rank
    flat, b = x.view(-1), bounds(x.numel(), n)
    right, left = (r + 1) % n, (r - 1) % n
    chunk = lambda i: flat[b[i % n]:b[i % n + 1]]                              # noqa: E731
    mine = r + 1
    for step in range(n - 1):
        wait(w.exchange(chunk(mine - step), right, chunk(mine - step - 1), left, tag=n + step))
    return x


def all_reduce_(x: torch.Tensor, op: str, w) -> torch.Tensor:
    if w.size == 1 or x.numel() == 0:
        return x
    reduce_scatter_(x, op, w)
    return all_gather_(x, w)
