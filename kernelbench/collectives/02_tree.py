"""dist_02_tree: binomial-tree reduce to rank 0, then binomial-tree broadcast back.
Adds over 01: the work is spread -- in round k, 2^k pairs exchange at once, so only log2(n) rounds
sit on the critical path instead of n-1 transfers into one rank.
Still limits it: every round moves the whole buffer S, so large buffers cost 2*log2(n)*S/link and
half the ranks idle in each round; the ring's (n-1)/n chunks beat it once S is large.
Preconditions: none beyond the world's; any n (not only powers of two)."""
import torch

from .world import wait


def all_reduce_(x: torch.Tensor, op: str, w) -> torch.Tensor:
    n, r = w.size, w.rank
    if n == 1 or x.numel() == 0:
        return x
    flat = x.view(-1)
    pair = torch.empty((2, flat.numel()), dtype=x.dtype, device=x.device)   # (mine, received)
    mask = 1
    while mask < n:                       # reduce: a rank with bit k set sends up and is done
        if r & mask:
            wait(w.exchange(flat, r - mask, None, r - mask))
            break
        if r + mask < n:
            pair[0].copy_(flat)
            wait(w.exchange(None, r + mask, pair[1], r + mask))
            flat.copy_(w.combine(pair, op))
        mask <<= 1
    # broadcast: walk the same tree back down (rank r first receives from the rank it sent to)
    if r:
        mask = r & -r                      # lowest set bit: the round in which r sent
    else:
        mask = 1 << (n - 1).bit_length()
    if r:
        wait(w.exchange(None, r - mask, flat, r - mask))
    mask >>= 1
    while mask:
        if r + mask < n:
            wait(w.exchange(flat, r + mask, None, r + mask))
        mask >>= 1
    return x
