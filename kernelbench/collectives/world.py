"""The world every collective rung runs in: process group, control group, watchdog, argument
check, and the local reduction by our own reduction ladder.

    w = World.from_env(timeout_s=30)      # RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT (torchrun's)
    w.require_same(x, "sum")              # refused on every rank when the ranks disagree
    with w.guard("ring all-reduce of 4 MiB float32"):
        rung.all_reduce_(x, "sum", w)
    w.close()

Faults never hang a rank forever: every exchange is bounded by the process group's timeout, and a
heartbeat thread publishes each rank's liveness and progress in the rendezvous store, so the rank
that sees an exchange fail names the rank that died (heartbeat stopped) or hung (alive but
behind) in one line (`CollectiveFault`).
"""
from __future__ import annotations

import datetime
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Optional

import torch
import torch.distributed as dist

from . import OPS
DTYPES = ("float32", "float64", "bfloat16")
HEARTBEAT_S = 0.25                 # a heartbeat this often; a rank silent for 3 of them is dead
STORE_HOSTED_ENV = "KB_COLL_STORE_HOSTED"   # "1": the launcher hosts the store (every rank a client)
FAULT_ENV = "KB_COLL_FAULT"        # test hook, "kill:RANK:CALL" or "hang:RANK:CALL" (docs/collectives.md)
_DTYPE_CODE = {d: i for i, d in enumerate(("float32", "float64", "bfloat16", "float16"))}


class CollectiveFault(RuntimeError):
    """A rank died or hung, or an exchange timed out: one line naming the rank."""


class CollectiveMismatch(ValueError):
    """The ranks called a collective with different sizes, dtypes or ops (refused before any exchange)."""


def reduce_op(op: str):
    return {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}[op]


def identity(op: str) -> float:
    """The element that leaves `op` unchanged (padding for the library reduce-scatter)."""
    return {"sum": 0.0, "max": float("-inf"), "min": float("inf")}[op]


def _is_comm_error(exc: BaseException) -> bool:
    """An error of the exchange (peer gone, timeout) rather than of this rank's own code."""
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(k in text for k in (
        "gloo", "nccl", "connection", "timed out", "timeout", "peer", "socket", "broken pipe"))


def _first_sentence(exc: BaseException) -> str:
    """The backend's message without its source-file prefix, up to the first full stop."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", text)
    return re.split(r"\.(\s|$)", text, maxsplit=1)[0][:160]


def _dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


class World:
    """One rank's view: rank, size, backend, device; `group` carries the data, `ctrl` (always
    Gloo) the checks and the monitored barrier."""

    def __init__(self, rank: int, size: int, backend: str, device: torch.device, timeout_s: float,
                 store, hb_store, group, ctrl):
        self.rank, self.size, self.backend, self.device = rank, size, backend, device
        self.timeout_s = timeout_s
        self.store, self._hb_store, self.group, self.ctrl = store, hb_store, group, ctrl
        self.calls = 0                 # collectives entered (published by the heartbeat)
        self._stop = threading.Event()
        self._hb = threading.Thread(target=self._beat, name="kb-collectives-heartbeat", daemon=True)
        self._hb.start()
        fault = os.environ.get(FAULT_ENV, "").split(":")
        self._fault = (fault[0], int(fault[1]), int(fault[2])) if len(fault) == 3 else None
        self.reduce_rung = os.environ.get("KB_COLL_REDUCE_RUNG") or ("cpu_03_avx2" if device.type == "cpu" else None)

    # ------------------------------------------------------------------ set-up / tear-down
    @classmethod
    def from_env(cls, timeout_s: float = 60.0, backend: Optional[str] = None) -> "World":
        """Join the world that torchrun (or `kernelbench run --suite collectives`) describes in the
        environment.  NCCL when CUDA devices exist (one rank per GPU, LOCAL_RANK's), else Gloo."""
        rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        host, port = os.environ.get("MASTER_ADDR", "127.0.0.1"), int(os.environ["MASTER_PORT"])
        backend = backend or os.environ.get("KB_COLL_BACKEND") or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":
            local = int(os.environ.get("LOCAL_RANK", rank))
            torch.cuda.set_device(local)
            device = torch.device("cuda", local)
            os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "3")   # a timed-out NCCL op aborts
        else:
            device = torch.device("cpu")
        td = datetime.timedelta(seconds=timeout_s)
        # torchrun's agent (and our launcher) host the store: every rank is then a client.
        hosted = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True" or os.environ.get(STORE_HOSTED_ENV) == "1"
        store = dist.TCPStore(host, port, size, is_master=(rank == 0 and not hosted), timeout=td,
                              wait_for_workers=False)
        attempt = f"{os.environ.get('TORCHELASTIC_RUN_ID', 'kb')}/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}"
        store = dist.PrefixStore(f"kb_coll/{attempt}/", store)
        hb_store = dist.PrefixStore(f"kb_coll_hb/{attempt}/", dist.TCPStore(host, port, size, is_master=False,
                                                                           timeout=datetime.timedelta(seconds=5)))
        hb_store.set(f"hb/{rank}", "0 0")
        dist.init_process_group(backend, store=store, rank=rank, world_size=size, timeout=td,
                                device_id=device if backend == "nccl" else None)
        group = dist.group.WORLD
        ctrl = group if backend == "gloo" else dist.new_group(backend="gloo", timeout=td)
        return cls(rank, size, backend, device, timeout_s, store, hb_store, group, ctrl)

    def close(self, status: str = "done") -> None:
        """Say this rank left on purpose (`status`: done or a fault), stop the heartbeat, leave."""
        self._stop.set()
        try:
            if status == "done" or not self._hb_store.check([f"left/{self.rank}"]):   # keep "raised ..."
                self._hb_store.set(f"left/{self.rank}", status)
        except Exception:
            pass
        self._hb.join(timeout=2 * HEARTBEAT_S + 5)
        if status == "done" and dist.is_initialized():
            dist.destroy_process_group()

    def _beat(self) -> None:
        beats = 0
        while not self._stop.wait(HEARTBEAT_S):
            beats += 1
            try:
                self._hb_store.set(f"hb/{self.rank}", f"{beats} {self.calls}")
            except Exception:        # the store is gone: the guard reports it when an exchange fails
                return

    def tick(self) -> None:
        """Count one collective entered (the heartbeat publishes it; a hung rank falls behind)."""
        if self._fault and self._fault[1] == self.rank and self._fault[2] == self.calls + 1:
            print(f"kernelbench collectives: test hook: {self._fault[0]} rank {self.rank} before collective "
                  f"#{self.calls + 1} at t={time.time():.3f}", file=sys.stderr, flush=True)
            if self._fault[0] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            while True:                  # "hang": alive (heartbeat going on), never enters the call
                time.sleep(60)
        self.calls += 1

    # ------------------------------------------------------------------ faults
    def _snapshot(self) -> dict:
        keys = [f"hb/{r}" for r in range(self.size)]
        vals = self._hb_store.multi_get(keys)
        out = {}
        for r, v in enumerate(vals):
            beats, calls = v.decode().split()
            out[r] = (int(beats), int(calls))
        return out

    def diagnose(self) -> str:
        """Which rank is at fault, in this order: one that raised an error of its own; one whose
        heartbeat stopped (died, or the whole process stopped) without leaving on purpose; one alive
        but behind the others (hung); one that left after seeing a fault."""
        try:
            first = self._snapshot()
            time.sleep(3 * HEARTBEAT_S)
            second = self._snapshot()
            left = {}
            for r in range(self.size):
                if self._hb_store.check([f"left/{r}"]):
                    left[r] = self._hb_store.get(f"left/{r}").decode()
        except Exception as exc:
            return (f"the rendezvous store is unreachable ({type(exc).__name__}): the process hosting it "
                    f"(rank 0 or the launcher) died")
        raised = [r for r, why in left.items() if why.startswith("raised") and r != self.rank]
        if raised:
            return f"rank {raised[0]} {left[raised[0]]}"
        dead = [r for r in range(self.size) if r != self.rank and r not in left and second[r][0] == first[r][0]]
        if dead:
            return (f"rank {', '.join(map(str, dead))} died or was stopped "
                    f"(no heartbeat for {3 * HEARTBEAT_S:.2g} s)")
        calls = {r: second[r][1] for r in range(self.size) if r not in left}
        behind = [r for r, c in calls.items() if c < max(calls.values())]
        if behind:
            r = behind[0]
            return (f"rank {', '.join(map(str, behind))} hung: alive, but it never entered collective "
                    f"#{calls[r] + 1}, in which the others wait")
        gone = [r for r in left if r != self.rank]
        if gone:
            return f"rank {gone[0]} left ({left[gone[0]]})"
        return f"an exchange timed out after {self.timeout_s:g} s with every rank alive and in step"

    @contextmanager
    def guard(self, what: str):
        """Any failure inside becomes one CollectiveFault line naming the rank at fault: an error of
        this rank's own (then published, so the others name it), else the diagnosis.  Either way
        the world cannot go on (the other ranks wait in an exchange this rank will not make)."""
        try:
            yield
        except (CollectiveMismatch, CollectiveFault):
            raise
        except Exception as exc:
            text = _first_sentence(exc)
            if not _is_comm_error(exc):
                msg = f"raised {type(exc).__name__}: {text} -- during {what}"
                try:
                    self._hb_store.set(f"left/{self.rank}", msg)
                except Exception:
                    pass
                raise CollectiveFault(f"rank {self.rank} {msg}") from None
            msg = f"{self.diagnose()} -- during {what} on rank {self.rank} of {self.size}"
            raise CollectiveFault(f"{msg} ({text or type(exc).__name__})") from None

    def sync(self, what: str) -> None:
        """A bounded barrier on the control group (monitored: Gloo names the ranks that miss it)."""
        with self.guard(what):
            dist.monitored_barrier(self.ctrl, timeout=datetime.timedelta(seconds=self.timeout_s),
                                   wait_all_ranks=True)

    def max_over_ranks(self, values: list) -> list:
        """Elementwise, the largest of every rank's `values` (verdicts agreed on the control group)."""
        t = torch.tensor(values, dtype=torch.int64)
        with self.guard("agreeing on the verdicts"):
            dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.ctrl)
        return t.tolist()

    # ------------------------------------------------------------------ argument check
    def require_same(self, x: torch.Tensor, op: str) -> None:
        """Every rank passes the same element count, dtype and op: checked with one small
        all-gather on the control group, before any data moves; refused on every rank otherwise."""
        if op not in OPS:
            raise CollectiveMismatch(f"op: expected one of {', '.join(OPS)}, got {op!r}")
        dt = _dtype_name(x)
        if dt not in _DTYPE_CODE:
            raise CollectiveMismatch(f"x: expected a float tensor ({', '.join(_DTYPE_CODE)}), got {dt}")
        if not x.is_contiguous():
            raise CollectiveMismatch("x: expected a contiguous tensor")
        mine = torch.tensor([x.numel(), _DTYPE_CODE[dt], OPS.index(op)], dtype=torch.int64)
        every = [torch.empty_like(mine) for _ in range(self.size)]
        with self.guard("the argument check"):
            dist.all_gather(every, mine, group=self.ctrl)
        names = {v: k for k, v in _DTYPE_CODE.items()}
        first = every[0].tolist()
        for r, t in enumerate(every):
            v = t.tolist()
            if v != first:
                raise CollectiveMismatch(
                    f"rank {r} passed {v[0]} {names[v[1]]} elements with op {OPS[v[2]]} but rank 0 passed "
                    f"{first[0]} {names[first[1]]} with op {OPS[first[2]]}: every rank must pass the same "
                    f"size, dtype and op (refused before any exchange)")

    # ------------------------------------------------------------------ the ladder below
    def combine(self, stacked: torch.Tensor, op: str) -> torch.Tensor:
        """stacked (k, m) -> (m,): the elementwise op over the k rows, by our own reduction ladder
        (kernelbench.reduce along dim 0): the CPU rung cpu_03_avx2 on Gloo (one core per rank; the
        OpenMP rung would fight the other ranks for the cores), the best CUDA rung on NCCL.  The CPU
        rungs take fp32/fp64: bf16 rows are widened to fp32 and the result rounded once."""
        from .. import api
        if stacked.shape[1] == 0:
            return stacked[0].clone()
        if stacked.device.type == "cpu" and stacked.dtype not in (torch.float32, torch.float64):
            return api.reduce(stacked.float(), op=op, dim=0, impl=self.reduce_rung).to(stacked.dtype)
        return api.reduce(stacked, op=op, dim=0, impl=self.reduce_rung)

    # ------------------------------------------------------------------ point to point
    def exchange(self, send: Optional[torch.Tensor], to: int, recv: Optional[torch.Tensor], frm: int,
                 tag: int = 0) -> list:
        """Post one send and/or one receive together (batch_isend_irecv: NCCL groups them, so two
        ranks sending to each other cannot deadlock); returns the requests.  Empty tensors move nothing."""
        ops = []
        if send is not None and send.numel():
            ops.append(dist.P2POp(dist.isend, send, to, self.group, tag))
        if recv is not None and recv.numel():
            ops.append(dist.P2POp(dist.irecv, recv, frm, self.group, tag))
        return dist.batch_isend_irecv(ops) if ops else []


def wait(reqs: list) -> None:
    for r in reqs:
        r.wait()
