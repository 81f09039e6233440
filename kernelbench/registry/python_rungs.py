"""Python-level rungs: Numba, CuPy/NVRTC, vendor libraries and frameworks.

Each entry names a backend and a callable; the callables live in kernelbench/rungs/*.py and
import their framework lazily, so this registry imports without any framework installed.
"""
