"""Markdown tables generated from committed result files, never typed by hand.

In README.md or docs/*.md:

    <!-- kb:table:ladder-matmul-cpu -->
    (generated; replaced on every `kernelbench tables results/*.json --readme README.md --docs docs`)
    <!-- kb:end -->

Names: ladder-<op>-<device>, layers-<op>-<device>, shapes-<op>-<device>, sweep-<series>
(sum | matmul), overhead[-<device>], env.  Add -<dtype> to keep one dtype (ladder, layers, shapes).
When several result files hold the same measurement, the newest file wins; entries of --quick runs
are used only for tables no full run covers.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from ..bench import analysis
from ..bench.figures import EPS
from ..bench.results import environment_summary, read
from . import model
from ..registry.core import OPS

MARKER = re.compile(r"(<!-- kb:table:(?P<name>[A-Za-z0-9_.-]+) -->)(?P<body>.*?)(<!-- kb:end -->)", re.S)


def _latest(datas: list) -> list:
    """All entries, the newest file winning for the same (suite, key, impl, front door)."""
    seen: dict = {}
    for d in sorted(datas, key=lambda d: d.get("created") or ""):
        for e in d.get("entries") or []:
            e["_file"], e["_data"] = d.get("_path"), d
            seen[analysis.entry_id(e)] = e
    return list(seen.values())


def parse_name(name: str) -> dict:
    parts = name.split("-")
    spec = {"kind": parts[0], "op": None, "device": None, "dtype": None, "series": None}
    rest = parts[1:]
    if rest and rest[-1] in EPS:
        spec["dtype"] = rest.pop()
    if spec["kind"] in ("ladder", "layers", "shapes"):
        if len(rest) != 2 or rest[0] not in OPS or rest[1] not in ("cpu", "cuda"):
            raise ValueError(f"table {name!r}: expected {spec['kind']}-<op>-<cpu|cuda>[-<dtype>]")
        spec["op"], spec["device"] = rest
    elif spec["kind"] == "sweep":
        if len(rest) != 1:
            raise ValueError(f"table {name!r}: expected sweep-<sum|matmul>")
        spec["series"] = rest[0]
    elif spec["kind"] == "overhead":
        spec["device"] = rest[0] if rest else None
    elif spec["kind"] != "env":
        raise ValueError(f"table {name!r}: unknown kind {spec['kind']!r}")
    return spec


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


def _provenance(es: list, md_dir: Path) -> str:
    files = []
    for e in es:
        s = environment_summary(e["_data"])
        item = (f"{(s['gpu'] if e['device'] == 'cuda' else s['cpu']) or e['device']} · {(s['created'] or '')[:10]} · "
                f"commit {s['commit'] or '?'} · `{os.path.relpath(e.get('_file') or '?', md_dir)}`")
        files += [item] if item not in files else []
    return "_Measured on " + "; ".join(files) + "._"


def render(name: str, datas: list, md_path: Path, root: Path) -> str:
    spec, md_dir = parse_name(name), md_path.resolve().parent
    kind = spec["kind"]
    if kind == "env":
        out = []
        for d in sorted(datas, key=lambda d: d.get("created") or ""):
            s = environment_summary(d)
            out.append(f"- `{os.path.relpath(d['_path'], md_dir)}`: {s['cpu'] or '?'}"
                       f"{' + ' + s['gpu'] if s['gpu'] else ''}; {s['versions']}; commit {s['commit'] or '?'}; "
                       f"{(s['created'] or '')[:10]}")
        return "\n".join(out) or "_no result files_"
    entries = _latest(datas)
    analysis.apply_library_ratios(entries)     # one library rung per table, the same in each of its cases
    suite = "ladder" if kind == "layers" else kind
    sel = [e for e in entries if e.get("suite") == suite
           and all(spec[k] is None or e.get(k) == spec[k] for k in ("op", "device", "dtype", "series"))]
    if not sel:
        what = f" of {spec['op']} on {spec['device']}" if spec["op"] else f" of {spec['series']}" if spec["series"] else ""
        return f"_No {suite} measurements{what} in the result files._"
    sel = [e for e in sel if not e["_data"].get("quick")] or sel   # --quick runs only where no full run covers it
    if kind in ("ladder", "shapes"):
        tables = [model.case(es) for es in analysis.case_groups(sel).values()]
    elif kind == "sweep":
        tables = [model.sweep(sel, spec["series"], dt) for dt in sorted({e["dtype"] for e in sel})]
    else:
        tables = [model.layers(sel) if kind == "layers" else model.overhead(sel)]
    return "\n\n".join(markdown(t, md_dir, root) for t in tables) + "\n\n" + _provenance(sel, md_dir)


def update_text(text: str, datas: list, md_path: Path, root: Path) -> tuple[str, list, list]:
    """(new text, names rendered, [(name, error)])."""
    done, errors = [], []

    def sub(m):
        name = m.group("name")
        try:
            body = render(name, datas, md_path, root)
        except ValueError as exc:
            errors.append((name, str(exc)))
            return m.group(0)
        done.append(name)
        return f"{m.group(1)}\n{body}\n{m.group(4)}"
    return MARKER.sub(sub, text), done, errors


def update_files(result_paths: list, md_paths: list, root: Optional[Path] = None, check: bool = False,
                 log=print) -> int:
    """Regenerate every marked table in md_paths.  With check=True write nothing and return 1 when
    a file is out of date."""
    datas = [read(p) for p in result_paths]
    root = Path(root or Path.cwd()).resolve()
    stale = 0
    for md in md_paths:
        md = Path(md)
        text = md.read_text()
        new, done, errors = update_text(text, datas, md, root)
        for name, err in errors:
            log(f"{md}: {err}")
        if new != text:
            stale += 1
            if not check:
                md.write_text(new)
        log(f"{md}: {len(done)} table(s) {'out of date' if check and new != text else 'regenerated' if new != text else 'up to date'}")
    return 1 if (check and stale) else 0
