"""kernelbench: hand-written matmul and reduction kernels on every rung of the ladder.

Public API (see README):
    matmul(a, b, impl=None)                       torch / tf / numpy / cupy arrays
    reduce(x, op="sum", dim=None, keepdim=False, impl=None)
    softmax(x, log=False, impl=None), log_softmax(x, impl=None), l2norm(x, impl=None)
    list_impls(op=None, device=None)              the registry
    frontdoors()                                  which front doors are built, with CPU / CUDA kernels
"""
from .registry import Impl, get_impl, list_impls  # noqa: F401
from .api import frontdoors, l2norm, log_softmax, matmul, reduce, softmax  # noqa: F401

__version__ = "0.1.0"
