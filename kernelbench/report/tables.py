"""`kernelbench tables`: the markdown tables between <!-- kb:table:NAME --> and <!-- kb:end --> (NAME: see KINDS)
from result files: the newest file wins for the same measurement, --quick runs only where no full run covers it."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from ..bench import analysis
from ..tolerance import EPS
from ..bench.results import environment_summary, read
from . import model
from ..registry.core import OPS

MARKER = re.compile(r"(<!-- kb:table:(?P<name>[A-Za-z0-9_.-]+) -->)(?P<body>.*?)(<!-- kb:end -->)", re.S)
CASE = (rf"-(?P<op>{'|'.join(OPS)})-(?P<device>cpu|cuda)(?:-(?P<dtype>{'|'.join(EPS)}))?", "-<op>-<cpu|cuda>[-<dtype>]")
KINDS = {"ladder": CASE, "layers": CASE, "shapes": CASE, "sweep": (r"-(?P<series>sum|matmul)", "-<sum|matmul>"),
         "overhead": (r"(?:-(?P<device>cpu|cuda))?", "[-<cpu|cuda>]"), "env": ("", "")}


def parse_name(name: str) -> dict:
    """{kind, op, device, dtype, series} of a table name (ValueError: not one)."""
    kind = name.split("-")[0]
    if kind not in KINDS:
        raise ValueError(f"table {name!r}: unknown kind {kind!r}")
    m = re.fullmatch(kind + KINDS[kind][0], name)
    if m is None:
        raise ValueError(f"table {name!r}: expected {kind}{KINDS[kind][1]}")
    return {"kind": kind, "op": None, "device": None, "dtype": None, "series": None, **m.groupdict()}


def _esc(s: str) -> str:
    return (s or "").replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def markdown(t: model.Table, md_dir: Path, root: Path) -> str:
    """`t` as a markdown table under its bold title, its footnotes in italics below."""
    def cell(c):
        s = f"`{c.text}`" if c.code else _esc(c.text)
        return (f"[{s}]({os.path.relpath(root / c.link, md_dir)})" if c.link else s) + _esc(c.tail)
    lines = [f"**{_esc(t.title)}**", "", "| " + " | ".join(t.heads) + " |",
             "|" + "".join("--:|" if h in t.right else "---|" for h in t.heads)]
    lines += ["| " + " | ".join(map(cell, r)) + " |" for r in t.rows if r]
    return "\n".join(lines + (["", "_" + "; ".join(_esc(n) for _, n in t.notes) + "._"] if t.notes else []))


def render(name: str, datas: list, md_path: Path, root: Path) -> str:
    spec, md_dir = parse_name(name), md_path.resolve().parent
    kind, datas = spec["kind"], sorted(datas, key=lambda d: d.get("created") or "")
    if kind == "env":
        return markdown(model.environment(datas), md_dir, root)
    origin = {id(e): d for d in datas for e in d.get("entries") or []}     # oldest file first
    entries = list({analysis.entry_id(e): e for d in datas for e in d.get("entries") or []}.values())  # newest wins
    analysis.apply_library_ratios(entries)     # one library rung per table, the same in each of its cases
    suite = "ladder" if kind == "layers" else kind
    sel = [e for e in entries if e.get("suite") == suite
           and all(spec[k] is None or e.get(k) == spec[k] for k in ("op", "device", "dtype", "series"))]
    if not sel:
        what = f" of {spec['op']} on {spec['device']}" if spec["op"] else f" of {spec['series']}" * bool(spec["series"])
        return f"_No {suite} measurements{what} in the result files._"
    sel = [e for e in sel if not origin[id(e)].get("quick")] or sel   # --quick runs only where no full run covers it
    if kind in ("ladder", "shapes"):
        tables = [model.case(es) for es in analysis.case_groups(sel).values()]
    elif kind == "sweep":
        tables = [model.sweep(sel, spec["series"], dt) for dt in sorted({e["dtype"] for e in sel})]
    else:
        tables = [model.layers(sel) if kind == "layers" else model.overhead(sel)]

    def where(e):   # the machine, date, commit and file of an entry
        s, path = environment_summary(origin[id(e)]), origin[id(e)].get("_path") or "?"
        return (f"{(s['gpu'] if e['device'] == 'cuda' else s['cpu']) or e['device']} · {(s['created'] or '')[:10]} · "
                f"commit {s['commit'] or '?'} · `{os.path.relpath(path, md_dir)}`")
    return "\n\n".join([markdown(t, md_dir, root) for t in tables]
                       + ["_Measured on " + "; ".join(dict.fromkeys(map(where, sel))) + "._"])


def update_files(result_paths: list, md_paths: list, root: Optional[Path] = None, check: bool = False,
                 log=print) -> int:
    """Regenerate every marked table in md_paths; with `check`, write nothing and return 1 when one is stale."""
    datas = [read(p) for p in result_paths]
    root, stale = Path(root or Path.cwd()).resolve(), 0
    for md in map(Path, md_paths):
        text, done = md.read_text(), []

        def sub(m):
            try:
                body = render(m.group("name"), datas, md, root)
            except ValueError as exc:
                log(f"{md}: {exc}")
                return m.group(0)
            done.append(m.group("name"))
            return f"{m.group(1)}\n{body}\n{m.group(4)}"
        new = MARKER.sub(sub, text)
        stale += new != text
        if new != text and not check:
            md.write_text(new)
        log(f"{md}: {len(done)} table(s) {'up to date' if new == text else 'out of date' if check else 'regenerated'}")
    return 1 if check and stale else 0
