"""Regenerate every generated table in README.md and docs/*.md from the committed result files.

    python docs/make_tables.py            # rewrite the tables between <!-- kb:table:NAME --> markers
    python docs/make_tables.py --check    # write nothing; exit 1 when a table is out of date (CI)

Same as `kernelbench tables results/*.json --readme README.md --docs docs`.  Table names are
listed in kernelbench/report/tables.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kernelbench.report.tables import update_files  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="exit 1 when a table is out of date; write nothing")
    p.add_argument("--results", default=str(ROOT / "results"), help="folder of result files (default: results/)")
    args = p.parse_args(argv)
    files = sorted(Path(args.results).rglob("*.json"))
    if not files:
        print(f"no result files under {args.results}: nothing to generate")
        return 0
    mds = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    return update_files([str(f) for f in files], [m for m in mds if m.exists()], root=ROOT, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
