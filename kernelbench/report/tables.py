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
from dataclasses import replace
from pathlib import Path
from typing import Optional

from ..bench import analysis
from ..bench.figures import EPS
from .fmt import METRIC_UNIT, fmt_err, fmt_num, fmt_pct, fmt_time, status_text
from ..bench.results import Entry, environment_summary, over_peak_note, read
from ..registry.core import OPS

MARKER = re.compile(r"(<!-- kb:table:(?P<name>[A-Za-z0-9_.-]+) -->)(?P<body>.*?)(<!-- kb:end -->)", re.S)


def _latest(datas: list) -> list:
    """All entries, the newest file winning for the same (suite, key, impl, front door)."""
    seen: dict = {}
    for d in sorted(datas, key=lambda d: d.get("created") or ""):
        for e in d.get("entries") or []:
            e = replace(e, extra=dict(e.extra)) if isinstance(e, Entry) else dict(e)
            e["_file"] = d.get("_path")
            e["_data"] = d
            seen[analysis.entry_id(e)] = e
    return list(seen.values())


def _prefer_full(sel: list) -> list:
    """When full runs cover a table, leave out the entries of --quick runs (other sizes)."""
    full = [e for e in sel if not e["_data"].get("quick")]
    return full or sel


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


def _src_link(e: dict, md_dir: Path, root: Path) -> str:
    src = e.get("source")
    name = f"`{e['impl']}`"
    if not src:
        return name
    rel = os.path.relpath(root / src, md_dir)
    return f"[{name}]({rel})"


def _esc(s: str) -> str:
    return (s or "").replace("|", "\\|").replace("\n", " ")


def _provenance(es: list, md_dir: Path) -> str:
    files = []
    for e in es:
        d = e["_data"]
        s = environment_summary(d)
        dev = s["gpu"] if e["device"] == "cuda" else s["cpu"]
        f = e.get("_file") or "?"
        try:
            f = os.path.relpath(f, md_dir)
        except ValueError:
            pass
        item = f"{dev or e['device']} · {(s['created'] or '')[:10]} · commit {s['commit'] or '?'} · `{f}`"
        if item not in files:
            files.append(item)
    return "_Measured on " + "; ".join(files) + "._"


def _case_md(es: list, md_dir: Path, root: Path) -> str:
    e0 = es[0]
    unit = METRIC_UNIT[e0.get("metric") or "gbps"]
    lines = [f"**{e0['label']} · {e0['dtype']} · {e0['device']}**", "",
             f"| rung | layer | what it adds | time | {unit} | % of peak | % of library | max err | status |",
             "|---|---|---|--:|--:|--:|--:|--:|---|"]
    for e in es:
        role = " (library)" if e.get("impl") == e.get("library_ref") else ""
        st = _esc(status_text(e)) + (" ≠" if (e.get("methods") or {}).get("verdict") == "disagree" else "")
        lines.append(f"| {_src_link(e, md_dir, root)}{role} | {e.get('layer', '')} | {_esc(e.get('adds', ''))} | "
                     f"{fmt_time(e.get('median_s'))} | {fmt_num(e.get('value'))} | {fmt_pct(e.get('pct_peak'))} | "
                     f"{fmt_pct(e.get('pct_library'))} | {fmt_err(e.get('max_abs_err'))} | {st} |")
    foot = []
    peak = next((e.get("peak_label") for e in es if e.get("peak_label")), None)
    if peak:
        foot.append(peak if peak.startswith("no % of peak") else f"% of peak against {peak}")
    foot += [n for n in (over_peak_note(es),) if n]
    if any((e.get("methods") or {}).get("verdict") == "disagree" for e in es):
        foot.append("≠ solo and round-robin figures disagree beyond the noise (the entry's \"methods\" explains)")
    notes = sorted({e["note"] for e in es if e.get("note")})
    foot += notes
    if foot:
        lines += ["", "_" + "; ".join(_esc(f) for f in foot) + "._"]
    return "\n".join(lines)


def render(name: str, datas: list, md_path: Path, root: Path) -> str:
    spec = parse_name(name)
    md_dir = md_path.resolve().parent
    entries = _latest(datas)
    analysis.apply_library_ratios(entries)     # one library rung per table, the same in each of its cases
    kind = spec["kind"]
    if kind == "env":
        out = []
        for d in sorted(datas, key=lambda d: d.get("created") or ""):
            s = environment_summary(d)
            out.append(f"- `{os.path.relpath(d['_path'], md_dir)}`: {s['cpu'] or '?'}"
                       f"{' + ' + s['gpu'] if s['gpu'] else ''}; {s['versions']}; commit {s['commit'] or '?'}; "
                       f"{(s['created'] or '')[:10]}")
        return "\n".join(out) or "_no result files_"
    if kind in ("ladder", "shapes"):
        sel = [e for e in entries if e.get("suite") == kind and e["op"] == spec["op"] and e["device"] == spec["device"]
               and (spec["dtype"] is None or e["dtype"] == spec["dtype"])]
        if not sel:
            return f"_No {kind} measurements of {spec['op']} on {spec['device']} in the result files._"
        sel = _prefer_full(sel)
        groups = analysis.case_groups(sel)
        body = [_case_md(es, md_dir, root) for es in groups.values()]
        return "\n\n".join(body) + "\n\n" + _provenance(sel, md_dir)
    if kind == "layers":
        sel = [e for e in entries if e.get("suite") == "ladder" and e["op"] == spec["op"]
               and e["device"] == spec["device"] and (spec["dtype"] is None or e["dtype"] == spec["dtype"])]
        sel = _prefer_full(sel) if sel else sel
        per = analysis.best_per_layer(sel)
        if not per:
            return f"_No ladder measurements of {spec['op']} on {spec['device']} in the result files._"
        lines = ["| case | layer | best rung | time | throughput | % of peak | % of library |",
                 "|---|---|---|--:|--:|--:|--:|"]
        for key, layers in per.items():
            for layer, e in layers.items():
                unit = METRIC_UNIT[e.get("metric") or "gbps"]
                lines.append(f"| {e['label']} · {e['dtype']} | {layer} | {_src_link(e, md_dir, root)} | "
                             f"{fmt_time(e['median_s'])} | {fmt_num(e.get('value'))} {unit} | "
                             f"{fmt_pct(e.get('pct_peak'))} | {fmt_pct(e.get('pct_library'))} |")
        return "\n".join(lines) + "\n\n" + _provenance(sel, md_dir)
    if kind == "sweep":
        sel = [e for e in entries if e.get("suite") == "sweep" and e.get("series") == spec["series"]]
        if not sel:
            return f"_No sweep of {spec['series']} in the result files._"
        sel = _prefer_full(sel)
        sizes, by = analysis.sweep_grid(sel, spec["series"])
        lines = ["| rung | device | dtype | " + " | ".join(f"{s:,}" for s in sizes) + " |",
                 "|---|---|---|" + "--:|" * len(sizes)]
        for (impl, dev, dt), per in by.items():
            cells = [(fmt_time(per[s]["median_s"]) if analysis.ok(per[s]) else per[s]["status"]) if s in per else ""
                     for s in sizes]
            lines.append(f"| `{impl}` | {dev} | {dt} | " + " | ".join(cells) + " |")
        cx = [c for c in analysis.crossovers(sel) if c["series"] == spec["series"]]
        tail = "".join(f"\n\n_Crossover ({c['dtype']}): {c['note']}._" for c in cx)
        return "\n".join(lines) + tail + "\n\n" + _provenance(sel, md_dir)
    if kind == "overhead":
        sel = [e for e in entries if e.get("suite") == "overhead" and (spec["device"] is None or e["device"] == spec["device"])]
        if not sel:
            return "_No overhead measurements in the result files._"
        sel = _prefer_full(sel)
        lines = ["| case | device | front door | rung | wall / call | device / call | host overhead | status |",
                 "|---|---|---|---|--:|--:|--:|---|"]
        for e in sel:
            lines.append(f"| {e['label']} | {e['device']} | {e.get('front_door') or ''} | `{e['impl']}` | "
                         f"{fmt_time(e.get('wall_s'))} | {fmt_time(e.get('device_s'))} | {fmt_time(e.get('overhead_s'))} | "
                         f"{_esc(status_text(e))} |")
        return "\n".join(lines) + "\n\n" + _provenance(sel, md_dir)
    raise ValueError(name)


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
