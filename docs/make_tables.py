"""Regenerate every generated table in README.md and docs/*.md.

    python docs/make_tables.py            # rewrite every generated table
    python docs/make_tables.py --check    # write nothing; exit 1 when a table is out of date (CI)

Two kinds of tables:
  <!-- kb:table:NAME --> ... <!-- kb:end -->        measurements, from the committed result files
      (same as `kernelbench tables results/*.json --readme README.md --docs docs`; names in
      kernelbench/report/tables.py)
  <!-- kb:rungs:OP-DEVICE --> ... <!-- kb:end -->   the rungs of an op on a device, from the registry:
      every fact from the C++ kernel table line, the one-line description, and the "Limits:" of the
      rung's source header -- so the docs cannot contradict a source file (issue 9).
  <!-- kb:explain:OP-GPU[:short] --> ... <!-- kb:end -->   the speed-of-light bound of every CUDA
      rung with its compiler facts and counts (kernelbench/explain/docs.py); a bound, not a measurement
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kernelbench.report.tables import update_files  # noqa: E402

RUNGS = re.compile(r"(<!-- kb:rungs:(?P<op>[a-z0-9_]+)-(?P<device>cpu|cuda) -->\n)(?P<body>.*?)(<!-- kb:end -->)", re.S)
PRECONDITIONS = {"whole_only": "whole tensor only", "dim_only": "along a dim only",
                 "inner_one": "innermost dim (inner == 1)", "inner_many": "non-innermost dim (inner > 1)",
                 "vector_only": "M == 1 or N == 1"}
DT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16"}


def source_limits(path: Path) -> str:
    """The "Limits:" sentence(s) of a source file's opening comment, else "-"."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    text = ""
    for ln in lines:   # a word hyphenated across lines is joined back
        text = text + ln if text.endswith("-") and ln[:1].isalpha() else (text + " " + ln if text else ln)
    text = re.sub(r"\s+", " ", text)
    m = re.search(r"Limits?:\s*(.*?)(?:\s+(?:Smem|Preconditions?|Workspace|Adds(?: over \w+)?):|$)", text)
    if not m:
        return "-"
    return m.group(1).strip().replace("|", "\\|")


def rung_table(op: str, device: str) -> str:
    """The rung table of `op` on `device`: native rungs, ladder order."""
    from kernelbench import list_impls
    from kernelbench.registry.core import arch_name
    rows = ["| rung | what it adds | what still limits it (source header) | dtypes | takes | arch | NVRTC twin "
            "| `impl=None` |", "|---|---|---|---|---|---|---|---|"]
    impls = [i for i in list_impls(device=device) if i.native and i.op == op]
    if not impls:
        raise SystemExit(f"kb:rungs:{op}-{device}: no native {op} rung on {device} in the registry (no build?)")
    for i in impls:
        takes = [PRECONDITIONS[t] for t in i.traits if t in PRECONDITIONS] or ["any layout"]
        if i.variants and len(i.variants) < 6:
            takes.append("/".join(i.variants))
        vendor = " (vendor)" if "vendor" in i.traits else ""
        rows.append(f"| [`{i.name}`](../{i.source}){vendor} | {i.adds.replace('|', '/')} | "
                    f"{source_limits(ROOT / i.source)} | {', '.join(DT[d] for d in i.dtypes)} | {'; '.join(takes)} | "
                    f"{arch_name(i.min_arch) if i.min_arch else 'any'} | {'yes' if i.nvrtc else '-'} | "
                    f"{i.rank if i.rank else '-'} |")
    return "\n".join(rows) + "\n"


def update_rung_tables(mds: list, check: bool) -> int:
    stale = 0
    for md in mds:
        text = md.read_text()
        new = RUNGS.sub(lambda m: m.group(1) + rung_table(m.group("op"), m.group("device")) + m.group(5), text)
        n = len(RUNGS.findall(text))
        if new != text:
            if check:
                print(f"{md}: rung tables out of date (run python docs/make_tables.py)")
                stale = 1
            else:
                md.write_text(new)
                print(f"{md}: {n} rung table(s) rewritten")
        elif n:
            print(f"{md}: {n} rung table(s) up to date")
    return stale


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="exit 1 when a table is out of date; write nothing")
    p.add_argument("--results", default=str(ROOT / "results"), help="folder of result files (default: results/)")
    args = p.parse_args(argv)
    mds = [m for m in [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md")) if m.exists()]
    rc = update_rung_tables(mds, args.check)
    from kernelbench.explain import docs as explain_docs   # <!-- kb:explain:OP-GPU --> blocks (bounds)
    rc = explain_docs.update(mds, args.check) or rc
    files = sorted(Path(args.results).rglob("*.json"))
    if not files:
        print(f"no result files under {args.results}: no measurement table to generate")
        return rc
    return update_files([str(f) for f in files], mds, root=ROOT, check=args.check) or rc


if __name__ == "__main__":
    sys.exit(main())
