"""Numba rungs: the first CUDA rungs of the matmul and reduction ladders written in Python with
numba.cuda (matmul.py, reduce.py), and the @njit(parallel=True) CPU rung (cpu.py).

Nothing here imports numba at module import time: `import kernelbench` works without it.
The CUDA kernels also run under the Numba simulator (NUMBA_ENABLE_CUDASIM=1, set before numba
is first imported), which is how CI checks them without a GPU; warp shuffles are GPU-only.
"""
