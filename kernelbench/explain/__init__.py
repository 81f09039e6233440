"""Why a CUDA rung is as fast as it is, on any machine (no GPU needed).

    gpus.py       the GPU table (SMs, clocks, caches, bandwidths, peaks, occupancy limits; sources)
    occupancy.py  theoretical occupancy by the CUDA occupancy rules, with the limiting resource
    facts.py      compiler facts per kernel x architecture (kernelbench/data/compiler_facts.json,
                  written by scripts/compiler_facts.py from nvcc and cuobjdump)
    sass.py       SASS instruction mix by class; the innermost loop
    bound.py      the speed-of-light bound: max of lower-bound terms, labelled a bound everywhere
    core.py       explain() / ladder(): all of it per kernel, with the counters against their ideals
    render.py     rich tables; to_dict() for JSON

    >>> from kernelbench.explain import explain
    >>> ex = explain("cuda_05_blocktile_2d", "4096x4096x4096", "f32", "h100")
    >>> ex.bound.seconds, ex.bound.binds, ex.sentence
"""
from .core import Explanation, explain, ladder  # noqa: F401
