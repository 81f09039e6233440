"""dist_04_ring_pipelined: 03's ring with each chunk cut into segments that flow independently: a
segment is forwarded (and the next one's transfer is in flight) while the previous one is reduced.
Adds over 03: communication overlaps the local reduction and the hand-over between steps, and the
reduce-scatter and all-gather run as one pipeline of 2(n-1) steps (step s sends chunk r-s and
receives chunk r-s-1 in both halves).
Still limits it: more messages (latency per segment), so it pays off only for large buffers; on
one machine it still copies through the kernel's sockets (Gloo) rather than shared memory.
Preconditions: none beyond the world's; segments of at least SEGMENT_BYTES, at most MAX_SEGMENTS."""
from collections import deque
import importlib

import torch

from .world import wait

SEGMENT_BYTES = 256 << 10
MAX_SEGMENTS = 8
_ring = importlib.import_module(__package__ + ".03_ring")


def segments(chunk_bytes: int) -> int:
    return max(1, min(MAX_SEGMENTS, -(-chunk_bytes // SEGMENT_BYTES)))


def all_reduce_(x: torch.Tensor, op: str, w) -> torch.Tensor:
    n, r = w.size, w.rank
    if n == 1 or x.numel() == 0:
        return x
    flat, b = x.view(-1), _ring.bounds(x.numel(), n)
    right, left = (r + 1) % n, (r - 1) % n
    nseg = segments((b[1] - b[0] + 1) * x.element_size())

    def seg(chunk: int, j: int) -> torch.Tensor:
        c = flat[b[chunk % n]:b[chunk % n + 1]]
        sb = _ring.bounds(c.numel(), nseg)
        return c[sb[j]:sb[j + 1]]

    seg_max = -(-(b[1] - b[0] + 1) // nseg)
    pairs = torch.empty((nseg, 2, seg_max), dtype=x.dtype, device=x.device)   # per segment: (mine, received)
    reducing = lambda s: s < n - 1                                             # noqa: E731

    def post(s: int, j: int):
        dst = seg(r - s - 1, j)
        into = pairs[j, 1, :dst.numel()] if reducing(s) else dst
        return w.exchange(seg(r - s, j), right, into, left, tag=s * nseg + j)

    def finish(s: int, j: int, reqs: list) -> None:
        wait(reqs)
        if reducing(s):
            dst = seg(r - s - 1, j)
            m = dst.numel()
            pairs[j, 0, :m].copy_(dst)
            dst.copy_(w.combine(pairs[j, :, :m], op))

    pending: deque = deque()
    for s in range(2 * (n - 1)):
        for j in range(nseg):
            # (s-1, j) -- the segment this one forwards -- is nseg posts back: finished already
            pending.append((s, j, post(s, j)))
            while len(pending) >= nseg:
                finish(*pending.popleft())
    while pending:
        finish(*pending.popleft())
    return x
