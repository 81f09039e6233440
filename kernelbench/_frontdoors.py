"""Loading the three compiled front doors.  Each loader returns the module or None, and
remembers why it failed, so `kernelbench info` and the tests can say "skipped: <reason>"."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

_REASONS: dict[str, str] = {}
_LOADED: dict = {}   # key -> module or None, filled on first use (a plain dict: Dynamo reads it)


def _once(key: str, load):
    if key not in _LOADED:
        _LOADED[key] = load()
    return _LOADED[key]


def _dynamo_constant(fn):
    """What torch.compiler.assume_constant_result does (it only sets this flag), without importing
    torch: Dynamo calls fn at trace time and keeps its result as a constant instead of tracing it
    (tests/test_torch_library.py checks the flag is still the one torch sets)."""
    fn._dynamo_marked_constant = True
    return fn


def build_info() -> dict:
    path = Path(__file__).with_name("_build_info.json")
    return json.loads(path.read_text()) if path.exists() else {}


def _import(name: str, key: str):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        _REASONS[key] = f"not built or not importable ({exc})"
        return None


def pybind():
    return _once("pybind", lambda: _import("kernelbench._pybind", "pybind"))


def torch_ext():
    return _once("torch", _load_torch)


@_dynamo_constant
def torch_ready() -> bool:
    """Loads the torch door; under torch.compile a constant (loading is not traced)."""
    return torch_ext() is not None


def _load_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        _REASONS["torch"] = "torch is not installed"
        return None
    mod = _import("kernelbench._torch_ext", "torch")
    if mod is not None:
        from . import torch_ops  # registers fake kernels and autograd
        torch_ops.register()
    return mod


def tf_ops():
    return _once("tf", _load_tf)


def _load_tf():
    try:
        import tensorflow as tf
    except ImportError:
        _REASONS["tf"] = "tensorflow is not installed"
        return None
    spec = importlib.util.find_spec("kernelbench._tf_ops")
    if spec is None or spec.origin is None:
        _REASONS["tf"] = "the TensorFlow op library was not built (was tensorflow importable at build time?)"
        return None
    try:
        lib = tf.load_op_library(spec.origin)
    except Exception as exc:  # tf raises NotFoundError etc.
        _REASONS["tf"] = f"tf.load_op_library failed: {exc}"
        return None
    from . import tf_ops as tf_wrappers
    tf_wrappers.register_gradients()
    return lib


def reason(key: str) -> str:
    return _REASONS.get(key, "")


def frontdoors() -> dict:
    """Which front doors are built, and whether each carries CPU and CUDA kernels."""
    info = build_info()
    out = {}
    pb = pybind()
    out["pybind"] = {"built": pb is not None, "cpu": pb is not None,
                     "cuda": bool(pb and pb.cuda_compiled()), "reason": reason("pybind")}
    te = torch_ext()
    out["torch"] = {"built": te is not None, "cpu": te is not None,
                    "cuda": bool(te and te.cuda_compiled()), "reason": reason("torch")}
    tl = tf_ops()
    out["tf"] = {"built": tl is not None, "cpu": tl is not None,
                 "cuda": bool(tl is not None and info.get("tf_cuda")),
                 "reason": reason("tf")}
    return out
