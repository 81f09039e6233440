"""Python-level rungs that are not our own kernels in Python: CuPy/NVRTC builds of our .cu files
(cupy_nvrtc.py) and the vendor-library / framework / compiler baselines (frameworks.py).
Every framework is imported inside the functions, so importing this package imports none of them.
"""
