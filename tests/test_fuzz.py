"""Property fuzzer: random problems through every door against numpy float64 references.

What it enforces is docs/semantics.md.  Each hypothesis example is one *case* (a small JSON dict:
op, rung, dtype, shapes, layouts, special values, dim/keepdim, seed); the arrays are made from it
deterministically, so a case is its own reproducer:

    python tests/test_fuzz.py --case '<json>'        # run one case through every door, print outcomes

Cases run in a worker subprocess (many per process, one JSON line in and out), so a segfault or a
hang is a failed example whose reproducer hypothesis shrinks and prints -- not a dead test run.
When the worker dies, the case is re-run one door per fresh process to name the door that crashes.

Profiles (KB_FUZZ_PROFILE): "ci" (default; KB_FUZZ_CASES examples, 2,400 by default, fixed seed,
every door that runs a case's rung runs it, >= 1,000 cases per door) and "long" (`make fuzz-long`:
15,000 examples, random seed, the compiler rungs now and then too).  A door is one line in DOORS:
a name, how a numpy array becomes that door's array, and which rungs it runs (pybind, torch, TF,
and the CUDA rungs through the SIMT executor).
"""
from __future__ import annotations

import json
import math
import os
import select
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROFILE = os.environ.get("KB_FUZZ_PROFILE", "ci")
# ci: 2,400 cases, split between the CPU rungs (pybind, torch, TF doors) and the CUDA rungs (the
# SIMT executor's door), so that every door gets >= 1,000 of them.
CASES = int(os.environ.get("KB_FUZZ_CASES", "2400" if PROFILE == "ci" else "15000"))
CASE_TIMEOUT_S = 120.0
ARG_NAMES = ("a: ", "b: ", "x: ", "dim: ", "op: ", "impl: ", "keepdim: ", "log: ")


# ==================================================================================== doors
def _np_dtype(name: str):
    if name == "bfloat16":
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _c(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, order="C")      # (np.ascontiguousarray would make a 0-D array 1-D)


def _to_torch(a: np.ndarray):
    import torch
    if a.dtype.name == "bfloat16":
        return torch.from_numpy(_c(a.astype(np.float32))).to(torch.bfloat16)
    if a.flags.writeable and a.flags.aligned and all(s >= 0 for s in a.strides):
        return torch.from_numpy(a)            # keeps strides and offset: the layout reaches the door
    return torch.from_numpy(_c(a).copy())


def _to_tf(a: np.ndarray):
    import tensorflow as tf
    if a.dtype.name == "bfloat16":
        return tf.cast(tf.constant(_c(a.astype(np.float32))), tf.bfloat16)
    return tf.constant(_c(a))


FAST_PY_RUNGS = ("numpy_cpu", "numba_njit_parallel", "torch_eager_cpu", "tf_eager_cpu")
SLOW_PY_RUNGS = ("torch_compile_cpu", "tf_function_cpu", "tf_xla_cpu")   # compile per shape: long profile


def cpu_rungs(op: str) -> list:
    """Every CPU native rung of the op, the Python-level CPU rungs, and None (impl=None); the
    compiler rungs (one compile per shape) only in the long profile, where they are drawn now and
    then (see the strategy)."""
    import kernelbench as kb
    py = FAST_PY_RUNGS + (SLOW_PY_RUNGS if PROFILE == "long" else ())
    names = [i.name for i in kb.list_impls(op=op, device="cpu")
             if i.op == op and (i.native or i.name in py) and not i.unavailable_reason()]
    return names + [None]


def native_rungs(device: str) -> Callable[[str], list]:
    """op -> the native rungs of a device (e.g. native_rungs("cuda") for the SIMT executor door)."""
    def rungs(op: str) -> list:
        import kernelbench as kb
        return [i.name for i in kb.list_impls(op=op, device=device) if i.op == op and i.native]
    return rungs


def sim_call(op: str, arrays: list, kw: dict):
    """The CUDA rungs through the CPU SIMT executor's module (kernelbench._sim): same API as _pybind."""
    from kernelbench import sim
    return pybind_call(op, arrays, kw, module=sim.module())


def simt_rungs(op: str) -> list:
    """CUDA rungs the executor runs: not the vendor library (CUB) nor sm_90a-only ones (wgmma / TMA)."""
    import kernelbench as kb
    return [i.name for i in kb.list_impls(op=op, device="cuda")
            if i.op == op and i.native and "vendor" not in i.traits and i.min_arch < 90]


def pybind_call(op: str, arrays: list, kw: dict, module=None):
    """Call the pybind11 module directly (no device check in kernelbench.api): the door of native
    rungs that run on host memory whatever their device, e.g. CUDA rungs under the SIMT executor."""
    from kernelbench import _frontdoors
    pb, impl = module or _frontdoors.pybind(), kw["impl"]
    if op == "matmul":
        return pb.matmul(*arrays, impl)[0]
    if op == "reduce":
        return pb.reduce(arrays[0], kw["op"], kw["dim"], kw["keepdim"], impl)[0]
    if op == "softmax":
        return pb.softmax(arrays[0], kw["log"], impl)[0]
    return getattr(pb, op)(arrays[0], impl)[0]


@dataclass
class Door:
    """A front door under test.  One line adds one, e.g. the CUDA rungs through the SIMT executor:
        Door("simt", lambda a: a, rungs=native_rungs("cuda"), fn=pybind_call)"""
    name: str
    convert: Callable[[np.ndarray], Any]           # numpy array -> this door's array
    rungs: Callable[[str], list] = cpu_rungs       # op -> rung names it runs (None: impl=None)
    available: Callable[[], Optional[str]] = field(default=lambda: None)
    fn: Optional[Callable[[str, list, dict], Any]] = None   # (op, door arrays, kwargs); default kb.<op>

    def call(self, op: str, arrays: list, kw: dict):
        import kernelbench as kb
        converted = [self.convert(a) for a in arrays]
        return self.fn(op, converted, kw) if self.fn else getattr(kb, op)(*converted, **kw)


def _door_reason(name: str) -> Callable[[], Optional[str]]:
    def reason():
        from kernelbench import _frontdoors
        fd = _frontdoors.frontdoors()[name]
        return None if fd["built"] else f"{name} door not built: {fd['reason']}"
    return reason


DOORS = [
    Door("pybind", lambda a: a, available=_door_reason("pybind")),
    Door("torch", _to_torch, available=_door_reason("torch")),
    Door("tf", _to_tf, available=_door_reason("tf")),
    Door("simt", lambda a: a, rungs=simt_rungs, fn=sim_call,
         available=lambda: __import__("kernelbench.sim", fromlist=["available"]).available()),
]


# ==================================================================================== arrays from a case
SPECIALS = ("none", "nan", "inf", "mixed", "ties", "large", "zeros", "signed_zeros")


def _values(rng: np.random.Generator, shape, special: str, dtype: str) -> np.ndarray:
    n = int(np.prod(shape)) if len(shape) else 1
    if special == "ties":
        v = rng.integers(-2, 3, size=n).astype(np.float64)
    elif special == "zeros":
        v = np.zeros(n)
    else:
        v = rng.standard_normal(n)
    if special == "signed_zeros":
        v[rng.random(n) < 0.5] = -0.0
    if special == "large":
        big = {"float16": 2e4, "bfloat16": 1e37, "float32": 1e37, "float64": 1e300}[dtype]
        v *= np.where(rng.random(n) < 0.3, big, 1.0)
    if special in ("nan", "inf", "mixed") and n:
        k = int(rng.integers(1, max(2, n // 4 + 1)))
        pos = rng.choice(n, size=min(k, n), replace=False)
        pool = {"nan": [np.nan], "inf": [np.inf, -np.inf], "mixed": [np.nan, np.inf, -np.inf]}[special]
        v[pos] = rng.choice(pool, size=len(pos))
    return v.reshape(shape)


def _layout(values: np.ndarray, code: str) -> np.ndarray:
    """An array holding `values` (its logical content) in the memory layout `code`; gaps are NaN
    so reading outside the view shows.  The reference is computed from the returned array."""
    dt, nd = values.dtype, values.ndim
    if nd == 0 or code == "c":
        return np.array(values, order="C")
    if code == "t" and nd >= 2:
        return np.asarray(values.swapaxes(-1, -2), order="C").swapaxes(-1, -2)
    if code == "s":
        ax = int(np.argmax(values.shape)) if values.size else nd - 1
        shape = list(values.shape)
        shape[ax] *= 2
        buf = np.full(shape, np.nan, dt)
        sl = [slice(None)] * nd
        sl[ax] = slice(None, None, 2)
        buf[tuple(sl)] = values
        return buf[tuple(sl)]
    if code == "n":
        return values[..., ::-1].copy()[..., ::-1]
    if code == "o":
        flat = np.full(values.size + 1, np.nan, dt)
        flat[1:] = values.ravel()
        return flat[1:].reshape(values.shape)
    if code == "b":       # 1-byte offset: unaligned
        raw = np.zeros(values.nbytes + dt.itemsize + 1, np.uint8)
        arr = np.ndarray(values.shape, dt, buffer=raw, offset=1)
        arr[...] = values
        return arr
    if code == "f":
        return np.asfortranarray(values)
    if code == "z":       # stride 0 along the first dim (values of row 0 repeated)
        return np.broadcast_to(values[:1], values.shape) if values.shape[0] else values
    if code == "r":
        arr = np.array(values)
        arr.setflags(write=False)
        return arr
    return np.array(values, order="C")


def make_arrays(case: dict) -> list:
    rng = np.random.default_rng(case["seed"])
    dt = _np_dtype(case["dtype"])
    out = []
    for shape, code in zip(case["shapes"], case["layouts"]):
        out.append(_layout(_values(rng, tuple(shape), case["special"], case["dtype"]).astype(dt), code))
    return out


def kwargs_of(case: dict) -> dict:
    kw = {"impl": case["impl"]}
    if case["op"] == "reduce":
        kw.update(op=case["rop"], dim=case["dim"], keepdim=case["keepdim"])
    if case["op"] == "softmax":
        kw["log"] = case["log"]
    return kw


# ==================================================================================== the rules (oracle)
def expected_error(case: dict, arrays: list) -> Optional[str]:
    """Why the case must be refused (docs/semantics.md), or None when it must succeed.  Written
    from the rules, not from the code, so the fuzzer checks the doors against the documentation."""
    import kernelbench as kb
    from kernelbench.registry.core import layout_class
    op, dtype, impl = case["op"], case["dtype"], case["impl"]
    shapes = [tuple(a.shape) for a in arrays]
    if op == "matmul":
        (sa, sb) = shapes
        if len(sa) not in (2, 3):
            return "a: rank"
        if len(sb) not in (2, 3):
            return "b: rank"
        if sa[-1] != sb[-2]:
            return "b: inner"
        ba, bb = (sa[0] if len(sa) == 3 else 1), (sb[0] if len(sb) == 3 else 1)
        if not (ba == bb or 1 in (ba, bb)):
            return "b: batch"
        if arrays[0].dtype != arrays[1].dtype:
            return "b: dtype"
        layout = layout_class("matmul", (), batch_m_n=(1, sa[-2], sb[-1]))
        variant = None
    else:
        (sx,) = shapes
        if len(sx) == 0:
            return "x: 0-D"
        layout, variant = "rows", None
        if op == "reduce":
            nd, dim = len(sx), case["dim"]
            if dim is not None and not -nd <= dim < nd:
                return "dim: range"
            red = int(np.prod(sx)) if dim is None else sx[dim]
            rest = 1 if dim is None else int(np.prod([s for i, s in enumerate(sx) if i != dim % nd]))
            if case["rop"] not in ("sum", "mean") and red == 0 and rest > 0:
                return "x: empty"
            layout, variant = layout_class("reduce", sx, dim), case["rop"]
    base = {"softmax": "log_softmax" if case.get("log") else "softmax"}.get(op, op)
    if impl is None:
        try:
            name = kb.api._default_impl(base, "cpu", dtype, variant, layout)
        except ValueError:
            return "impl: none fits"
        impl = name
    entry = kb.get_impl(base, impl)
    if variant is not None and entry.variants and variant not in entry.variants:
        return "op: variant"
    if dtype not in entry.dtypes:
        return "x: dtype of rung"
    if entry.refusal(layout):
        return "impl: refuses layout"
    return None


def _nan_aware_check(got: np.ndarray, ref: np.ndarray, tol: np.ndarray, unspecified: np.ndarray, what: str):
    """got vs ref elementwise: NaN where ref is NaN, the same inf where ref is inf, |got - ref| <= tol
    elsewhere; elements whose intermediate magnitudes leave the dtype's range are unspecified."""
    ok = unspecified.copy()
    ok |= np.isnan(ref) & np.isnan(got)
    ok |= np.isinf(ref) & (got == ref)
    finite = np.isfinite(ref)
    with np.errstate(invalid="ignore"):
        ok |= finite & np.isfinite(got) & (np.abs(got - ref) <= tol)
    if not ok.all():
        bad = np.argwhere(~ok)[:3].tolist()
        idx = tuple(bad[0]) if bad else ()
        raise AssertionError(f"{what}: wrong at {bad} (got {got[idx] if got.ndim else got}, "
                             f"expected {ref[idx] if ref.ndim else ref}, tol {np.broadcast_to(tol, ref.shape)[idx]})")


def check_result(case: dict, arrays: list, out) -> None:
    """The result of a valid case against the numpy float64 reference (kernelbench.testing's
    tolerances: error_scale(dtype, length) times the magnitude sum, fp32 accumulation)."""
    import kernelbench as kb
    from kernelbench import testing as T
    op, dtype = case["op"], case["dtype"]
    got = T.to_float64(out)
    x64 = [np.asarray(a, dtype=np.float64) for a in arrays]
    fmax = float(np.finfo(np.float16).max) if dtype == "float16" else (
        3.3e38 if dtype == "bfloat16" else float(np.finfo(np.dtype(dtype)).max))
    entry = None
    if case["impl"] is not None:
        base = "log_softmax" if op == "softmax" and case.get("log") else op
        entry = kb.get_impl(base, case["impl"])
    # Python-level rungs on 16-bit dtypes may accumulate in the storage dtype (numpy): a looser bound.
    storage_acc = entry is not None and not entry.native and dtype in ("float16", "bfloat16")
    # TensorFlow's own kernels (tf_* rungs) ignore NaN in max / min / argmax and in softmax's row max
    # (Eigen's max), and TF's softmax of a row holding +inf is NaN only at the inf: what they return
    # where a NaN or a +inf decides the answer is TF's business, not checked (docs/semantics.md).
    tf_nan = entry is not None and entry.backend == "tf"

    def scale_of(length):
        if storage_acc:
            return 2.0 * T.UNIT_ROUNDOFF[dtype] * max(length, 1) + 2.0 * T.UNIT_ROUNDOFF[dtype]
        return T.error_scale(dtype, length)

    out_dtype = getattr(out, "dtype", None)
    out_dtype = str(getattr(out_dtype, "name", out_dtype)).replace("torch.", "")
    with np.errstate(all="ignore"):
        if op == "matmul":
            a, b = x64
            ref, mag = a @ b, np.abs(a) @ np.abs(b)
            assert got.shape == ref.shape, f"shape {got.shape} != {ref.shape}"
            assert out_dtype == dtype, f"dtype {out_dtype} != {dtype}"
            # 0 * inf and inf - inf: NaN in any order.  |A| @ |B| past the range: unspecified.
            unspecified = ~np.isfinite(mag) & np.isfinite(ref) | (mag > fmax / 4)
            _nan_aware_check(got, ref, scale_of(a.shape[-1]) * mag + 1e-300, unspecified, "matmul")
        elif op == "reduce":
            rop, dim, keepdim = case["rop"], case["dim"], bool(case["keepdim"])
            x = x64[0]
            if dim is None:
                shape = (1,) * x.ndim if keepdim else ()
            else:
                d = dim % x.ndim
                shape = tuple(1 if i == d else s for i, s in enumerate(x.shape) if keepdim or i != d)
            if int(np.prod(shape)) == 0:    # an empty result (numpy refuses argmax of nothing here)
                assert got.shape == shape, f"shape {got.shape} != {shape}"
                return
            ref = T.reduce_reference(x, rop, dim, keepdim)
            assert got.shape == ref.shape, f"shape {got.shape} != {ref.shape}"
            want_dtype = "int64" if rop in ("argmax", "argmin") else dtype
            assert out_dtype == want_dtype, f"dtype {out_dtype} != {want_dtype}"
            if rop in ("argmax", "argmin", "max", "min"):
                nan_slice = np.isnan(x).any(axis=dim, keepdims=keepdim) if x.size else np.zeros(ref.shape, bool)
                keep = ~np.broadcast_to(nan_slice, np.shape(ref)) if tf_nan else np.ones(np.shape(ref), bool)
                g, r = np.asarray(got)[keep], np.asarray(ref)[keep]
                # an index: the first extremum, a NaN first; a max is one of the inputs, exactly
                assert np.array_equal(g, r, equal_nan=True), f"{rop} {g.ravel()[:6]} != {r.ravel()[:6]}"
            else:
                n = x.size if dim is None else x.shape[dim]
                mag = np.sum(np.abs(x), axis=dim, keepdims=keepdim)
                # the partial sums (of a mean too) past the dtype's range: unspecified
                unspecified = (mag > fmax / 4) | (~np.isfinite(mag) & np.isfinite(ref))
                if rop == "mean":
                    mag = mag / max(n, 1)
                _nan_aware_check(got, np.asarray(ref), scale_of(n) * mag + 1e-300, unspecified, rop)
        else:
            x = x64[0]
            cols = x.shape[-1]
            assert out_dtype == dtype, f"dtype {out_dtype} != {dtype}"
            if op == "l2norm":
                ref = np.sqrt((x * x).sum(-1))
                assert got.shape == ref.shape, f"shape {got.shape} != {ref.shape}"
                unspecified = ref > math.sqrt(fmax) / 4     # squares past the range
                tol = scale_of(cols) * ref + 1e-300
                if storage_acc:   # squares in the storage dtype underflow to subnormals: |√a - √b| <= √|a - b|
                    tol = tol + math.sqrt(max(cols, 1) * {"float16": 2.0**-24, "bfloat16": 2.0**-133}[dtype])
                _nan_aware_check(got, ref, tol, unspecified, "l2norm")
            else:
                log = bool(case.get("log"))
                ref = T.softmax_reference(x, log) if x.size else x.copy()
                assert got.shape == ref.shape, f"shape {got.shape} != {ref.shape}"
                base = np.abs(ref) if not log else np.maximum(np.abs(ref), 1.0)
                if storage_acc:
                    base = np.maximum(base, 1.0 if not log else base)
                tol = (scale_of(cols) + 16 * T.UNIT_ROUNDOFF[dtype]) * base + 1e-300
                if dtype in ("float16", "bfloat16") and not storage_acc:
                    tol = tol + 4 * T.UNIT_ROUNDOFF[dtype]
                unspecified = np.zeros(ref.shape, bool)
                if tf_nan and x.size:     # TF: NaN and +inf rows are TF's business (see above)
                    unspecified |= (np.isnan(x) | (x == np.inf)).any(-1, keepdims=True)
                _nan_aware_check(got, ref, tol, unspecified, "log_softmax" if log else "softmax")


# ==================================================================================== running a case
def run_door(case: dict, door_name: str) -> dict:
    """One case through one door: {"ok": True} or {"error": kind, "message": ...}."""
    door = next(d for d in DOORS if d.name == door_name)
    reason = door.available()
    if reason:
        return {"skipped": reason}
    arrays = make_arrays(case)
    op = case["op"]
    want_error = expected_error(case, arrays)
    try:
        out = door.call(op, arrays, kwargs_of(case))
    except (ValueError, TypeError) as exc:
        msg = str(exc).strip()
        if want_error is None:
            return {"fail": f"raised {type(exc).__name__} on a valid case: {msg[:300]}"}
        if not msg.startswith(ARG_NAMES):
            return {"fail": f"error does not name the argument: {type(exc).__name__}: {msg[:300]}"}
        return {"refused": msg.splitlines()[0][:400]}
    except Exception as exc:  # noqa: BLE001 -- anything else is a bug: a framework error passed through
        return {"fail": f"{type(exc).__name__} (not ValueError/TypeError): {str(exc)[:300]}"}
    if want_error is not None:
        return {"fail": f"accepted a case the rules refuse ({want_error}); result shape "
                        f"{tuple(getattr(out, 'shape', ()))}"}
    try:
        check_result(case, arrays, out)
    except AssertionError as exc:
        return {"fail": f"wrong answer: {exc}"}
    return {"ok": True}


_RUNGS: dict = {}


def door_rungs(door: Door, op: str) -> list:
    if (door.name, op) not in _RUNGS:
        _RUNGS[door.name, op] = door.rungs(op)
    return _RUNGS[door.name, op]


def run_case(case: dict) -> dict:
    """Every door that runs the case's rung, then the doors' agreement: the same refusal message."""
    out = {d.name: run_door(case, d.name) for d in DOORS
           if case.get("door") in (None, d.name) and case["impl"] in door_rungs(d, case["op"])}
    refusals = {k: v["refused"] for k, v in out.items() if "refused" in v}
    if len(set(refusals.values())) > 1:
        out["disagree"] = {"fail": f"doors refuse with different messages: {refusals}"}
    return out


def _worker_main() -> None:
    """Read one JSON case per line on stdin; answer one 'KBFUZZ <json>' line per case on stdout."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT / "tests"))
    import kernelbench  # noqa: F401  (import once, before the first case)
    print("KBFUZZ " + json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        try:
            res = run_case(case)
        except Exception as exc:  # noqa: BLE001 -- the fuzzer's own bug: a failure, not a crash
            import traceback
            res = {"fuzzer": {"fail": f"fuzzer error {type(exc).__name__}: {exc}\n{traceback.format_exc()[-1500:]}"}}
        print("KBFUZZ " + json.dumps(res), flush=True)


class Worker:
    """A persistent worker subprocess; restarted after it dies."""

    def __init__(self):
        self.proc: Optional[subprocess.Popen] = None

    def _start(self) -> None:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONFAULTHANDLER="1")
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                     cwd=str(ROOT))
        if self._read(300.0) is None:
            raise RuntimeError("fuzz worker did not start")

    def _read(self, timeout: float) -> Optional[dict]:
        assert self.proc and self.proc.stdout
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                return None
            line = self.proc.stdout.readline()
            if not line:
                return None
            if line.startswith("KBFUZZ "):
                return json.loads(line[len("KBFUZZ "):])

    def run(self, case: dict) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc and self.proc.stdin
        try:
            self.proc.stdin.write(json.dumps(case) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        res = self._read(CASE_TIMEOUT_S)
        if res is not None:
            return res
        hung = self.proc.poll() is None
        self.close()
        return {"crash": self._bisect(case, hung)}

    @staticmethod
    def _bisect(case: dict, hung: bool) -> dict:
        """The worker died (or hung): the case again, one door per fresh process."""
        found = {}
        for d in DOORS:
            one = dict(case, door=d.name)
            r = subprocess.run([sys.executable, __file__, "--case", json.dumps(one)], capture_output=True,
                               text=True, timeout=CASE_TIMEOUT_S * 2, cwd=str(ROOT),
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONFAULTHANDLER="1"))
            if r.returncode != 0:
                found[d.name] = f"exit {r.returncode}: {r.stderr.strip()[-600:]}"
        return {"hung" if hung else "died": found or "only in a long-lived worker (state from earlier cases)"}

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=30)
            except Exception:
                pass
            self.proc = None


def failures(result: dict) -> dict:
    return {k: v for k, v in result.items() if isinstance(v, dict) and ("fail" in v)} | (
        {"crash": result["crash"]} if "crash" in result else {})


# ==================================================================================== case strategy
def _strategies():
    from hypothesis import strategies as st

    dims = st.sampled_from([0, 1, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64, 65])
    dtypes = st.sampled_from(["float32"] * 6 + ["float64"] * 4 + ["float16", "bfloat16"])
    layouts = st.sampled_from(["c"] * 6 + ["t", "s", "n", "o", "b", "f", "z", "r"])
    specials = st.sampled_from(["none"] * 8 + list(SPECIALS[1:]))

    ops = ("matmul", "reduce", "softmax", "l2norm")
    every = {op: list(dict.fromkeys(r for d in DOORS if d.available() is None for r in door_rungs(d, op)))
             for op in ops}                         # (imports outside the draws)
    rungs = {op: [r for r in every[op] if r not in SLOW_PY_RUNGS] for op in ops}
    slow = {op: [r for r in every[op] if r in SLOW_PY_RUNGS] for op in ops}

    @st.composite
    def case(draw, door: Optional[str] = None):
        op = draw(st.sampled_from(["matmul", "reduce", "reduce", "softmax", "l2norm"]))
        impl = draw(st.sampled_from(rungs[op]))
        if slow.get(op) and draw(st.integers(0, 99)) == 0:
            impl = draw(st.sampled_from(slow[op]))
        c = {"op": op, "impl": impl, "dtype": draw(dtypes), "seed": draw(st.integers(0, 2**31 - 1)),
             "special": draw(specials)}
        if op == "matmul":
            m, k, n = draw(dims), draw(dims), draw(dims)
            ra, rb = draw(st.sampled_from([2, 2, 3, 3, 1, 4])), draw(st.sampled_from([2, 2, 3, 2, 1]))
            batch = draw(st.sampled_from([0, 1, 2, 3]))
            sa = ([draw(st.sampled_from([batch, batch, 1]))] if ra == 3 else []) + [m, k]
            sb = ([draw(st.sampled_from([batch, batch, 1]))] if rb == 3 else []) + [
                draw(st.sampled_from([k] * 9 + [k + 1])), n]
            if ra == 1:
                sa = [k]
            if ra == 4:
                sa = [1, batch, m, k]
            if rb == 1:
                sb = [k]
            c["shapes"] = [sa, sb]
            c["layouts"] = [draw(layouts), draw(layouts)]
        else:
            rank = draw(st.sampled_from([1, 1, 2, 2, 2, 3, 3, 4, 0]))
            shape = [draw(dims) for _ in range(rank)]
            if rank and draw(st.integers(0, 30)) == 0:      # now and then a long row (chunks, threads)
                shape[-1] = draw(st.sampled_from([1000, 4099, 70001]))
                shape[:-1] = [min(s, 2) for s in shape[:-1]]
            c["shapes"], c["layouts"] = [shape], [draw(layouts)]
            if op == "reduce":
                c["rop"] = draw(st.sampled_from(["sum", "mean", "max", "min", "argmax", "argmin"]))
                c["dim"] = draw(st.one_of(st.none(), st.integers(-rank - 1, rank)))
                c["keepdim"] = draw(st.sampled_from([False, True, 0, 1]))
            if op == "softmax":
                c["log"] = draw(st.booleans())
        if door is not None:
            c["door"] = door
        return c

    return case


KNOWN = [  # issue 12's reproducers, always run first
    {"op": "matmul", "impl": None, "dtype": "float32", "seed": 0, "special": "none",
     "shapes": [[0, 3, 4], [4, 5]], "layouts": ["c", "c"]},
    {"op": "matmul", "impl": "numba_njit_parallel", "dtype": "float32", "seed": 0, "special": "none",
     "shapes": [[1, 3, 4], [0, 4, 5]], "layouts": ["c", "c"]},
    {"op": "reduce", "impl": "cpu_05_kahan", "dtype": "float32", "seed": 1, "special": "inf",
     "shapes": [[3, 7]], "layouts": ["c"], "rop": "sum", "dim": 1, "keepdim": False},
    {"op": "softmax", "impl": None, "dtype": "float32", "seed": 0, "special": "none", "shapes": [[]],
     "layouts": ["c"], "log": False},
    {"op": "l2norm", "impl": None, "dtype": "float32", "seed": 0, "special": "none", "shapes": [[5, 0]],
     "layouts": ["c"]},
    {"op": "reduce", "impl": "numpy_cpu", "dtype": "bfloat16", "seed": 0, "special": "none", "shapes": [[4]],
     "layouts": ["c"], "rop": "sum", "dim": None, "keepdim": 1},
]


# ==================================================================================== pytest
if __name__ != "__main__":
    import pytest

    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings

    settings.register_profile("ci", max_examples=CASES, deadline=None, derandomize=True, database=None,
                              suppress_health_check=list(HealthCheck), print_blob=True)
    settings.register_profile("long", max_examples=CASES, deadline=None, derandomize=False, database=None,
                              suppress_health_check=list(HealthCheck), print_blob=True)
    COUNTS: dict = {}

    @pytest.fixture(scope="module")
    def worker():
        w = Worker()
        yield w
        w.close()

    def _record(result: dict) -> None:
        for name, r in result.items():
            if name in ("disagree", "crash"):
                continue
            key = "ok" if "ok" in r else ("refused" if "refused" in r else ("skipped" if "skipped" in r else "fail"))
            COUNTS.setdefault(name, {}).setdefault(key, 0)
            COUNTS[name][key] += 1

    def _assert_clean(case: dict, result: dict) -> None:
        bad = failures(result)
        if bad:
            raise AssertionError("fuzz failure; reproduce with\n  python tests/test_fuzz.py --case '"
                                 + json.dumps(case) + "'\n" + json.dumps(bad, indent=1)[:3000])

    @pytest.mark.parametrize("case", KNOWN, ids=lambda c: f"{c['op']}-{c['impl']}-{c['shapes']}")
    def test_known_reproducers(worker, case):
        _assert_clean(case, worker.run(case))

    def test_fuzz_every_door(worker):
        """CASES random cases, each through every door (so CASES per door), 0 crashes, 0 wrong."""
        settings.load_profile(PROFILE)
        seen = {"n": 0}

        @settings(settings.get_profile(PROFILE))
        @given(_strategies()())
        def prop(case):
            seen["n"] += 1
            result = worker.run(case)
            _record(result)
            _assert_clean(case, result)

        prop()
        per_door = {d: sum(v.values()) for d, v in COUNTS.items()}
        line = f"fuzz[{PROFILE}]: {seen['n']} cases; per door {per_door}; outcomes {COUNTS}"
        print("\n" + line)
        out = os.environ.get("KB_FUZZ_REPORT")
        if out:
            Path(out).write_text(json.dumps({"profile": PROFILE, "cases": seen["n"], "per_door": per_door,
                                             "outcomes": COUNTS}, indent=1))
        assert seen["n"] >= min(CASES, 1000) or PROFILE != "ci", line
        for d in DOORS:
            if d.available() is None and PROFILE == "ci" and CASES >= 2400:   # >= 1,000 cases through every door
                assert per_door.get(d.name, 0) >= 1000, line

    def test_fuzzer_catches_a_wrong_answer_and_a_crash(worker, monkeypatch):
        """Negative tests: the checks can fail.  A perturbed result is a wrong answer; a door
        that kills its process is a crash with the door named; an accepted invalid case fails."""
        case = dict(KNOWN[2], special="none")
        arrays = make_arrays(case)
        import kernelbench as kb
        good = kb.reduce(arrays[0], "sum", dim=1, impl="cpu_05_kahan")
        check_result(case, arrays, good)
        with pytest.raises(AssertionError, match="wrong at"):
            check_result(case, arrays, good * (1 + 1e-3))
        with pytest.raises(AssertionError, match="shape"):
            check_result(case, arrays, good[:-1])
        crash = dict(case, door="pybind", impl="__crash__")
        r = Worker._bisect(crash, hung=False)
        assert "pybind" in r["died"] and "exit" in r["died"]["pybind"]
        assert expected_error(dict(KNOWN[3]), make_arrays(KNOWN[3])) == "x: 0-D"


    def test_a_new_door_is_one_line(monkeypatch):
        """A door that calls the pybind11 module directly (as a SIMT-executor door would) joins
        every case whose rung it runs, and must agree with the others."""
        extra = Door("pybind_direct", lambda a: a, rungs=native_rungs("cpu"), fn=pybind_call)
        monkeypatch.setattr(sys.modules[__name__], "DOORS", DOORS + [extra])
        ok = run_case(KNOWN[2])
        assert ok["pybind_direct"] == {"ok": True} and not failures(ok)
        refused = run_case(dict(KNOWN[3], impl="cpu_06_softmax"))
        assert refused["pybind_direct"] == {"refused": "x: expected at least a 1-D tensor, got a 0-D tensor"}
        assert not failures(refused)
        assert "pybind_direct" not in run_case(dict(KNOWN[2], impl="numpy_cpu"))   # not its rung


# ==================================================================================== command line
def _main(argv: list) -> int:
    if argv[:1] == ["--worker"]:
        _worker_main()
        return 0
    if argv[:1] == ["--case"]:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        case = json.loads(argv[1])
        if case.get("impl") == "__crash__":      # the negative test's stand-in for a segfault
            import ctypes
            ctypes.string_at(0)
        res = run_case(case)
        print(json.dumps(res, indent=1))
        return 1 if failures(res) else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
