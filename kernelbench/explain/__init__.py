"""Why a CUDA rung is as fast as it is: compiler facts, occupancy, GPU table, speed-of-light bound."""
