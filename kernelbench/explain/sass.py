"""SASS text (cuobjdump -sass) -> instruction mix by class, and the innermost loop's mix.

Classes are what the ladder turns on: the math (FFMA / HFMA2 / DFMA on the SIMT pipes, HMMA / HGMMA
on the tensor cores), global and shared loads and stores by access width (LDG.128 is one request
for 16 bytes per thread), LDSM (ldmatrix), LDGSTS (cp.async), TMA, barriers, shuffles, atomics and
local-memory traffic (LDL / STL: spills).  The innermost loop is found from the back-edges: a
branch to a lower address closes a loop; a loop that contains no other loop is innermost, and the
one with the most math (then the most memory instructions) is the main loop.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Optional

MATH = ("FFMA", "HFMA2", "DFMA", "HMMA", "HGMMA", "IMMA", "DMMA")
ADDS = ("FADD", "DADD", "HADD2", "FMNMX")   # the reductions' math
MEMORY_PREFIXES = ("LDG", "STG", "LDS", "STS", "LDSM", "LDGSTS", "ATOM", "RED", "LDL", "STL", "TMA")

_LINE = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(?:@!?U?P[T0-9]+\s+)?([A-Z][A-Z0-9_.]*)\s*([^;]*);")
_FUNC = re.compile(r"Function\s*:\s*(\S+)")
_ARCH = re.compile(r"code for (sm_\w+)")


def access_width(opcode: str) -> int:
    """Bits per thread of a load/store opcode: .128 / .64 / .U16 / .U8 ..., else 32."""
    mods = opcode.split(".")[1:]
    for m in mods:
        if m in ("128", "64", "32"):
            return int(m)
        if m in ("U16", "S16"):
            return 16
        if m in ("U8", "S8"):
            return 8
    return 32


def classify(opcode: str) -> Optional[str]:
    """The class an opcode is counted in ("LDG.128", "FFMA", "BAR", ...), or None (not tracked)."""
    base = opcode.split(".")[0]
    if base in MATH or base in ADDS:
        return base
    if base in ("LDG", "STG", "LDS", "STS", "LDGSTS"):
        return f"{base}.{access_width(opcode)}"
    if base == "LDSM":   # LDSM.16.M88.4: four 8x8 matrices (.x4); .2 / plain: two / one
        n = opcode.split(".")[-1]
        return f"LDSM.x{n if n in ('2', '4') else '1'}"
    if base in ("ATOMG", "ATOM", "ATOMS", "RED", "REDG"):
        return "ATOMIC"
    if base in ("UTMALDG", "UTMASTG", "UBLKCP", "UTMAPF"):
        return "TMA"
    if base in ("BAR", "SHFL", "LDL", "STL", "SYNCS", "WARPGROUP"):
        return base
    return None


def parse(text: str) -> dict:
    """{(arch, mangled function name): [(address, opcode, operands), ...]} from cuobjdump -sass."""
    out: dict = {}
    arch, cur = None, None
    for line in text.splitlines():
        m = _ARCH.search(line)
        if m:
            arch = m.group(1)
            continue
        m = _FUNC.search(line)
        if m:
            cur = out.setdefault((arch, m.group(1)), [])
            continue
        m = _LINE.search(line)
        if m and cur is not None:
            cur.append((int(m.group(1), 16), m.group(2), m.group(3).strip()))
    return out


def mix(instrs) -> dict:
    """Counts by class, plus "total" (every instruction but NOP)."""
    c: Counter = Counter()
    for _, op, _ in instrs:
        if op.startswith("NOP"):
            continue
        c["total"] += 1
        k = classify(op)
        if k:
            c[k] += 1
    return dict(sorted(c.items()))


def loops(instrs) -> list:
    """(start, end) address ranges closed by a backward branch (BRA to a lower address)."""
    out = []
    for addr, op, args in instrs:
        if not op.startswith("BRA"):
            continue
        m = re.search(r"0x([0-9a-f]+)", args)
        if m:
            target = int(m.group(1), 16)
            if target < addr:
                out.append((target, addr))
    return out


def _score(m: dict) -> tuple:
    math = sum(m.get(k, 0) for k in MATH + ADDS)
    memory = sum(v for k, v in m.items() if k.split(".")[0] in MEMORY_PREFIXES)
    return math, memory, m.get("total", 0)


def innermost_loop(instrs) -> Optional[dict]:
    """The main innermost loop: {"start", "end", "mix"}, None when the function has no loop."""
    ranges = loops(instrs)
    inner = [r for r in ranges if not any(o != r and r[0] <= o[0] and o[1] <= r[1] for o in ranges)]

    def best_of(cands, key):
        best = None
        for lo, hi in cands:
            m = mix([i for i in instrs if lo <= i[0] <= hi])
            if best is None or key(m, hi - lo) > key(best["mix"], best["end"] - best["start"]):
                best = {"start": lo, "end": hi, "mix": m}
        return best
    best = best_of(inner, lambda m, size: _score(m))
    if best is not None and _score(best["mix"])[0] == 0:
        # the math sits in a loop that holds another one (e.g. a copy loop inside the k-loop):
        # the smallest loop with the most math
        alt = best_of(ranges, lambda m, size: (_score(m)[0], -size))
        if alt is not None and _score(alt["mix"])[0] > 0:
            best = alt
    return best
