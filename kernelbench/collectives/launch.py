"""Start N ranks of `python -m kernelbench.collectives` on this machine, as torchrun would: the
launcher hosts the rendezvous store (on 127.0.0.1, a free port the OS picks), so every rank is a
client and even rank 0's death is diagnosed; one rank per GPU when CUDA devices exist (NCCL), else
Gloo on the CPU.  A rank that exits with an error takes the others down after a bounded wait."""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile
import time
from typing import Optional

from .world import STORE_HOSTED_ENV


def default_nproc() -> int:
    import torch
    return torch.cuda.device_count() if torch.cuda.is_available() else 2


def launch(nproc: int, rank_args: list, timeout_s: float = 60.0, env: Optional[dict] = None,
           capture: bool = False, program: Optional[list] = None) -> tuple:
    """Run the ranks to the end; returns (exit code, [(rank, returncode, stdout, stderr, exit time)]).
    The exit code is the first non-zero rank's (a fault: 4), else 0.  `program` replaces
    [python, -m, kernelbench.collectives] (a test's own rank program)."""
    import torch.distributed as dist
    if nproc < 1:
        raise ValueError(f"--nproc: expected at least 1 rank, got {nproc}")
    store = dist.TCPStore("127.0.0.1", 0, None, is_master=True, timeout=datetime.timedelta(seconds=timeout_s),
                          wait_for_workers=False)
    base = dict(os.environ, **(env or {}))
    base.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(store.port), WORLD_SIZE=str(nproc),
                LOCAL_WORLD_SIZE=str(nproc), OMP_NUM_THREADS=base.get("OMP_NUM_THREADS", "1"))
    base[STORE_HOSTED_ENV] = "1"
    procs, files = [], []
    for r in range(nproc):
        e = dict(base, RANK=str(r), LOCAL_RANK=str(r))
        f = (tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")) if capture else (None, None)
        files.append(f)
        cmd = [*(program or [sys.executable, "-m", "kernelbench.collectives"]), *rank_args]
        procs.append(subprocess.Popen(cmd, env=e, stdout=f[0], stderr=f[1], text=True))
    # A rank that failed: the others report their own one-line error within the timeout (plus the
    # diagnosis); past that (and a margin) they are stopped, so the launcher never waits forever.
    first_fail = None
    grace = timeout_s + 5
    outs = {}
    ended = {}
    while True:
        codes = [p.poll() for p in procs]
        for r, c in enumerate(codes):
            if c is not None and r not in ended:
                ended[r] = time.time()
        if first_fail is None and any(c not in (None, 0) for c in codes):
            first_fail = time.monotonic()
        if all(c is not None for c in codes):
            break
        if first_fail is not None and time.monotonic() - first_fail > grace:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        time.sleep(0.05)
    for r, p in enumerate(procs):
        text = []
        for f in files[r]:
            if f is not None:
                f.seek(0)
                text.append(f.read())
                f.close()
        so, se = text if capture else ("", "")
        outs[r] = (r, p.returncode, so, se, ended.get(r, time.time()))
    del store
    codes = [p.returncode for p in procs]
    code = next((c for c in codes if c not in (0,)), 0)
    return (code if code >= 0 else 4), [outs[r] for r in range(nproc)]
