"""The result file (docs/results-format.md): `Results` (the file) and `Entry` (one rung on one case) are
dicts typed by a `schema` dataclass.  `read`, the one way every reader gets a file, checks the kind and
each field's type, migrates version 1 (version 2 stores no % of peak above 100), refuses newer ones by name."""
from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import os
import platform
import socket
from dataclasses import MISSING, field, fields, make_dataclass
from pathlib import Path
from typing import Optional, get_args, get_type_hints

from .. import info

SCHEMA_VERSION = 2
KIND = "kernelbench-results"
_JSON = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array",
         type(None): "null"}


class ResultFileError(ValueError):
    """A result file that cannot be read: one line that says why."""


class Record(dict):
    """A JSON object of the file: a dict with its schema's fields always present."""
    schema: type

    def __init__(self, d=(), /, **kw):
        super().__init__({f.name: f.default_factory() if f.default_factory is not MISSING
                          else None if f.default is MISSING else f.default for f in fields(self.schema)})
        self.update(d, **kw)

    def get(self, k, default=None):
        """dict.get, with `default` also for a null field (a field an older file lacked)."""
        v = super().get(k)
        return default if v is None else v

    @classmethod
    @functools.cache
    def types(cls) -> dict:
        """{field: the JSON value types it takes} (a number field takes ints and floats)."""
        hints = {n: set(get_args(t) or (t,)) for n, t in get_type_hints(cls.schema).items()}
        return {n: tuple(t for t in _JSON if t in ks or ks & {int, float} and t in (int, float))
                for n, ks in hints.items()}

    @classmethod
    def checked(cls, d: dict, where: str):
        """`d` as this record, or ResultFileError naming the first missing or mistyped field."""
        for f in fields(cls.schema):
            kinds, v = cls.types()[f.name], d.get(f.name)
            if f.name not in d and f.default is MISSING and f.default_factory is MISSING:
                raise ResultFileError(f"{where}\"{f.name}\" missing")
            if f.name in d and (not isinstance(v, kinds) or isinstance(v, bool) and bool not in kinds):
                want = " or ".join("null" if t is type(None) else t.__name__ for t in kinds)
                raise ResultFileError(f"{where}\"{f.name}\" is {v!r:.40}, expected {want}")
        return cls(d)


Text, Number = Optional[str], Optional[float]     # a string or null; an int, a float or null


def _empty(kind: type):
    return field(default_factory=kind)


class Entry(Record):
    """One rung on one case (run.new_entry fills it; docs/results-format.md says each field).
    Other keys: series, size, solo, wall_s, device_s, overhead_s, traceback, pct_peak_over, ..."""
    schema = make_dataclass("EntrySchema", [
        ("suite", str), ("key", str), ("impl", str),                    # identity: required
        ("status", Text, None), ("reason", str, ""), ("label", str, ""),    # ok | failed | error | skipped
        ("case", dict, _empty(dict)), ("op", Text, None), ("variant", Text, None), ("dtype", Text, None),
        ("device", Text, None), ("layer", Text, None), ("native", bool, False), ("backend", Text, None),
        ("front_door", Text, None), ("adds", Text, ""), ("source", Text, ""), ("impl_note", Text, ""),
        ("role", str, "rung"), ("library_candidates", list, _empty(list)),
        ("library_preferred", list, _empty(list)), ("note", Text, ""),
        ("flops", Number, None), ("bytes", Number, None), ("metric", Text, None), ("intensity", Number, None),
        ("median_s", Number, None), ("iqr_s", Number, None), ("q1_s", Number, None), ("q3_s", Number, None),
        ("n", Optional[int], None), ("rel_iqr", Number, None), ("noisy", Optional[bool], None),
        ("timing", Optional[dict], None), ("figure", Text, None), ("methods", Optional[dict], None),
        ("first_call_s", Number, None), ("tflops", Number, None), ("gbps", Number, None), ("value", Number, None),
        ("pct_peak", Number, None), ("peak_label", Text, ""), ("peak_level", Text, None),
        ("pct_library", Number, None), ("library_ref", Text, None), ("max_abs_err", Number, None),
        ("err_ratio", Number, None), ("threads", Optional[dict], None), ("machine_busy", Number, None)])


class Results(Record):
    """One run: where, when, what was selected, the peaks, the entries.  Other keys: devices,
    frontdoors, machine_busy_at_start, collectives, ...; `_path` (not written): where it was read."""
    schema = make_dataclass("ResultsSchema", [
        ("kind", str, KIND), ("schema_version", int, SCHEMA_VERSION), ("created", Optional[str], None),
        ("host", Optional[str], None), ("git", dict, _empty(dict)), ("argv", list, _empty(list)),
        ("suites", list, _empty(list)), ("quick", Optional[bool], False), ("selection", dict, _empty(dict)),
        ("environment", dict, _empty(dict)), ("threads", dict, _empty(dict)), ("peaks", dict, _empty(dict)),
        ("entries", list, _empty(list)), ("analysis", dict, _empty(dict)), ("interrupted", Optional[bool], False),
        ("duration_s", Optional[float], None)])


def json_schema() -> dict:
    """The JSON Schema of a result file of this version, from the schema dataclasses."""
    def obj(rec, required):
        props = {f: {"type": sorted({_JSON[t] for t in kinds})} for f, kinds in rec.types().items()}
        return {"type": "object", "properties": props, "required": list(required)}
    top = obj(Results, ("kind", "schema_version", "entries"))
    top["properties"]["schema_version"] = {"const": SCHEMA_VERSION}
    top["properties"]["entries"] = {"type": "array", "items": obj(Entry, ("suite", "key", "impl"))}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": KIND, **top}


def honest_pct(e: dict) -> None:
    """No % of peak above 100: the data came from a faster level (a cache) than the peak describes;
    the figure is dropped (pct_peak null) and kept as `pct_peak_over`."""
    p = e.get("pct_peak")
    if p is not None and p > 100.0:
        e["pct_peak"], e["pct_peak_over"] = None, p


def over_peak_note(entries: list) -> str:
    """The footnote of a table with dropped % of peak ('' when none was dropped)."""
    over = [e["pct_peak_over"] for e in entries if e.get("pct_peak_over")]
    return (f"no % of peak for {len(over)} rung(s) that measured {min(over):.0f}-{max(over):.0f}% of it: the data came "
            f"from a faster level (a cache) than the figure describes" if over else "")


def environment() -> dict:
    """kernelbench.info.collect(); if it fails, the platform and the reason, so the run goes on."""
    try:
        return dict(info.collect())
    except Exception as exc:  # noqa: BLE001 - the run must not depend on it
        return {"platform": platform.platform(), "versions": {"python": platform.python_version()},
                "info_error": f"{type(exc).__name__}: {exc}"}


def new_result(suites: list, argv: list, quick: bool, selection: dict) -> Results:
    return Results(created=_dt.datetime.now().astimezone().isoformat(timespec="seconds"), host=socket.gethostname(),
                   git=info.git(), argv=list(argv), suites=list(suites), quick=quick, selection=selection)


def default_path(results_dir: str = "kb_results") -> Path:
    return Path(results_dir) / f"{socket.gethostname()}-{_dt.datetime.now():%Y%m%d-%H%M%S}.json"


def clean(obj):
    """JSON-safe copy: non-finite floats -> None, tuples -> lists, numpy scalars -> Python; a
    record's keys starting with "_" left out."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items() if not (isinstance(obj, Record) and str(k).startswith("_"))}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return clean(obj.item()) if hasattr(obj, "item") else str(obj)


def check_writable(path) -> Path:
    """The path `write` uses (a .json path as given, else a new file in that folder; the folder created),
    checked before a run measures anything: OSError with the reason."""
    p = Path(path)
    if p.suffix != ".json":
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"{p} exists and is not a folder (name a .json file or a folder)")
        p = default_path(str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.is_dir() or not os.access(p.parent, os.W_OK):
        raise OSError(f"{p} is a folder" if p.is_dir() else f"cannot write in {p.parent}")
    return p


def write(path, data: dict) -> Path:
    """Write atomically (temp file + rename) where check_writable says; returns the path."""
    path = check_writable(path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(clean(data), indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def read(path) -> Results:
    """A result file, checked and migrated to this version: every problem is one ResultFileError line."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        why = {FileNotFoundError: "no such file", IsADirectoryError: "is a folder, not a result file",
               UnicodeDecodeError: "not a text file (not UTF-8)"}.get(type(exc))    # else an OSError:
        raise ResultFileError(f"{path}: {why or f'cannot read ({exc.strerror or exc})'}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ResultFileError(f"{path}: not JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ResultFileError(f"{path}: not a kernelbench result file (no \"kind\": \"{KIND}\")")
    v = data.get("schema_version")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1 or v > SCHEMA_VERSION:
        newer = " (a newer kernelbench wrote it: update kernelbench)" if isinstance(v, int) and v > 1 else ""
        raise ResultFileError(f"{path}: schema_version {v!r}; this kernelbench reads 1 to {SCHEMA_VERSION}{newer}")
    for key in ("entries", "peaks", "analysis"):
        if data.get(key) is None:
            data.pop(key, None)
    res = Results.checked(data, f"{path}: ")
    for i, e in enumerate(res["entries"]):
        if not isinstance(e, dict):
            raise ResultFileError(f"{path}: entry {i} is a {type(e).__name__}, expected an object")
        e = res["entries"][i] = Entry.checked(e, f"{path}: entry {i}: ")
        for k in ("median_s", "iqr_s", "rel_iqr"):
            if (e[k] or 0) < 0:
                raise ResultFileError(f"{path}: entry {i}: \"{k}\" is {e[k]!r}, expected a number >= 0 or null")
        if v == 1:                      # version 1 -> 2: no % of peak above 100
            honest_pct(e)
    res["schema_version"], res["_path"] = SCHEMA_VERSION, str(path)
    return res


def environment_summary(data: dict) -> dict:
    """A few lines that say where a result came from (for tables and the report)."""
    env, peaks, git = data.get("environment") or {}, data.get("peaks") or {}, data.get("git") or {}
    gpu = env.get("gpu") or {}
    return {
        "cpu": (env.get("cpu") or {}).get("model") or (peaks.get("cpu") or {}).get("name"),
        "gpu": (gpu.get("name") if isinstance(gpu, dict) else None) or (peaks.get("cuda") or {}).get("name"),
        "versions": ", ".join(f"{k} {v}" for k, v in (env.get("versions") or {}).items() if v),
        "commit": (git.get("commit") or "")[:10] + ("+dirty" if git.get("dirty") else ""),
        "created": data.get("created"),
        "host": data.get("host"),
    }
