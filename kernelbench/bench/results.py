"""The result file: a typed, versioned record of one run (docs/results-format.md).

`Results` is the file, `Entry` one rung on one case; both are dataclasses whose fields are the
schema (`json_schema()` prints it), and `read` is the one way every reader (`show`, `compare`,
`report`, `tables`) gets a file: it checks the kind and the version, migrates older versions and
checks each field's type.  A file written by a newer kernelbench is refused, naming its version.
Entries also read like the dicts they are stored as (`e["median_s"]`, `e.get("methods")`); keys
no field names (the collectives suite's `busbw_gbps`, ...) live in `extra`.  Non-finite floats are
written as null.

Versions: 1 (2026); 2 stores no % of peak above 100 % (a figure above its peak measures a level the
peak does not describe): on reading a version 1 file such a figure is dropped and its label says so.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

SCHEMA_VERSION = 2
KIND = "kernelbench-results"


class ResultFileError(ValueError):
    """A result file that cannot be read: one line that says why."""


class Record:
    """Mapping-style access to a dataclass's fields, unknown keys in `extra` (how the files read)."""
    extra: dict

    def __getitem__(self, k: str):
        if k in self._names():
            return getattr(self, k)
        return self.extra[k]

    def __setitem__(self, k: str, v) -> None:
        if k in self._names():
            setattr(self, k, v)
        else:
            self.extra[k] = v

    def __contains__(self, k: str) -> bool:
        return k in self._names() or k in self.extra

    def get(self, k: str, default=None):
        """Like dict.get, and `default` also for a field that is null (a field absent from an older file)."""
        v = self[k] if k in self else None
        return default if v is None else v

    def update(self, d: dict) -> None:
        for k, v in d.items():
            self[k] = v

    def setdefault(self, k: str, v):
        if k not in self:
            self[k] = v
        return self[k]

    @classmethod
    def _names(cls) -> frozenset:
        return frozenset(f.name for f in dataclasses.fields(cls) if f.name != "extra")

    def to_dict(self) -> dict:
        d = {f: getattr(self, f) for f in sorted(self._names(), key=_ORDER[type(self).__name__].index)}
        d.update({k: v for k, v in self.extra.items() if not k.startswith("_")})
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = ""):
        names = cls._names()
        kw = {k: v for k, v in d.items() if k in names}
        for f in dataclasses.fields(cls):
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in kw:
                raise ResultFileError(f"{where}\"{f.name}\" missing")
        for k, v in kw.items():
            kinds = _TYPES[cls.__name__][k]
            if not (v is None and type(None) in kinds) and (isinstance(v, bool) and bool not in kinds
                                                            or not isinstance(v, kinds)):
                want = " or ".join("null" if t is type(None) else t.__name__ for t in kinds)
                raise ResultFileError(f"{where}\"{k}\" is {v!r:.40}, expected {want}")
        return cls(**kw, extra={k: v for k, v in d.items() if k not in names})


N = (int, float, type(None))          # a number or null
S0 = (str, type(None))


@dataclass
class Entry(Record):
    """One rung on one case (engine.new_entry fills it; docs/results-format.md says each field)."""
    suite: str
    key: str
    impl: str
    status: Optional[str] = None          # ok | failed | error | skipped; None: cut short by Ctrl-C
    reason: str = ""
    label: str = ""
    case: dict = field(default_factory=dict)
    op: Optional[str] = None
    variant: Optional[str] = None
    dtype: Optional[str] = None
    device: Optional[str] = None
    layer: Optional[str] = None
    native: bool = False
    backend: Optional[str] = None
    front_door: Optional[str] = None
    adds: Optional[str] = ""
    source: Optional[str] = ""
    impl_note: Optional[str] = ""
    role: str = "rung"
    library_candidates: list = field(default_factory=list)
    library_preferred: list = field(default_factory=list)
    note: Optional[str] = ""
    flops: Optional[float] = None
    bytes: Optional[float] = None
    metric: Optional[str] = None
    intensity: Optional[float] = None
    median_s: Optional[float] = None
    iqr_s: Optional[float] = None
    q1_s: Optional[float] = None
    q3_s: Optional[float] = None
    n: Optional[int] = None
    rel_iqr: Optional[float] = None
    noisy: Optional[bool] = None
    timing: Optional[dict] = None
    figure: Optional[str] = None
    methods: Optional[dict] = None
    first_call_s: Optional[float] = None
    tflops: Optional[float] = None
    gbps: Optional[float] = None
    value: Optional[float] = None
    pct_peak: Optional[float] = None
    peak_label: Optional[str] = ""
    peak_level: Optional[str] = None
    pct_measured_peak: Optional[float] = None
    pct_library: Optional[float] = None
    library_ref: Optional[str] = None
    max_abs_err: Optional[float] = None
    err_ratio: Optional[float] = None
    peak_mem_bytes: Optional[float] = None
    threads: Optional[dict] = None
    machine_busy: Optional[float] = None
    extra: dict = field(default_factory=dict)   # series, size, solo, wall_s, device_s, overhead_s, traceback, ...


@dataclass
class Results(Record):
    """One run: where, when, what was selected, the peaks, the entries."""
    kind: str = KIND
    schema_version: int = SCHEMA_VERSION
    created: Optional[str] = None
    host: Optional[str] = None
    git: dict = field(default_factory=dict)
    argv: list = field(default_factory=list)
    suites: list = field(default_factory=list)
    quick: Optional[bool] = False
    selection: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    threads: dict = field(default_factory=dict)
    peaks: dict = field(default_factory=dict)
    entries: list = field(default_factory=list)
    analysis: dict = field(default_factory=dict)
    interrupted: Optional[bool] = False
    duration_s: Optional[float] = None
    path: Optional[str] = None            # where it was read from (not written)
    extra: dict = field(default_factory=dict)   # devices, frontdoors, machine_busy_at_start, collectives, ...

    def __getitem__(self, k: str):
        return self.path if k == "_path" else super().__getitem__(k)

    def __contains__(self, k: str) -> bool:
        return k == "_path" or super().__contains__(k)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.pop("path")
        d["entries"] = [e.to_dict() if isinstance(e, Entry) else e for e in self.entries]
        return d


_ORDER = {c.__name__: [f.name for f in dataclasses.fields(c)] for c in (Entry, Results)}
_KINDS = {"str": (str,), "int": (int,), "bool": (bool,), "dict": (dict,), "list": (list,),
          "Optional[str]": S0, "Optional[float]": N, "Optional[int]": N, "Optional[bool]": (bool, type(None)),
          "Optional[dict]": (dict, type(None))}
_TYPES = {c.__name__: {f.name: _KINDS[f.type] for f in dataclasses.fields(c) if f.name != "extra"}
          for c in (Entry, Results)}
_JSON = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array",
         type(None): "null"}


def json_schema() -> dict:
    """The JSON Schema of a result file of this version, from the dataclasses' fields."""
    def obj(c, required):
        props = {f: {"type": sorted({_JSON[t] for t in kinds})} for f, kinds in _TYPES[c.__name__].items()}
        return {"type": "object", "properties": props, "required": list(required)}
    top = obj(Results, ("kind", "schema_version", "entries"))
    top["properties"].pop("path")
    top["properties"]["schema_version"] = {"const": SCHEMA_VERSION}
    top["properties"]["entries"] = {"type": "array", "items": obj(Entry, ("suite", "key", "impl"))}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": KIND, **top}


def honest_pct(e) -> None:
    """No % of peak above 100: such a figure says the data came from a faster level (a cache) than
    the one the peak describes.  It is dropped (pct_peak null) and kept as `pct_peak_over`."""
    p = e.get("pct_peak")
    if p is not None and p > 100.0:
        e["pct_peak"], e["pct_peak_over"] = None, p


def over_peak_note(entries: list) -> str:
    """The footnote of a table with dropped % of peak ('' when none was dropped)."""
    over = [e["pct_peak_over"] for e in entries if e.get("pct_peak_over")]
    return (f"no % of peak for {len(over)} rung(s) that measured {min(over):.0f}-{max(over):.0f}% of it: the data came "
            f"from a faster level (a cache) than the figure describes" if over else "")


def _migrate(d: dict, where: str) -> dict:
    """A version 1 file as version 2: % of peak above 100 dropped (see honest_pct)."""
    v = d.get("schema_version")
    if v == 1:
        for e in d["entries"] if isinstance(d.get("entries"), list) else []:
            if isinstance(e, dict):
                honest_pct(e)
        d["schema_version"] = 2
    return d


def git_info(repo: Optional[Path] = None) -> dict:
    repo = repo or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def environment() -> dict:
    """kernelbench.info.collect() (the one description of this machine); if it fails, the platform
    and the reason, so the run goes on."""
    try:
        from .. import info
        env = info.collect()
        if isinstance(env, dict):
            return env
        raise TypeError(f"info.collect() returned a {type(env).__name__}")
    except Exception as exc:  # noqa: BLE001 - the run must not depend on it
        return {"platform": platform.platform(), "versions": {"python": platform.python_version()},
                "info_error": f"{type(exc).__name__}: {exc}"}


def new_result(suites: list, argv: list, quick: bool, selection: dict) -> Results:
    return Results(created=_dt.datetime.now().astimezone().isoformat(timespec="seconds"), host=socket.gethostname(),
                   git=git_info(), argv=list(argv), suites=list(suites), quick=quick, selection=selection)


def default_path(results_dir: str = "kb_results") -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(results_dir) / f"{socket.gethostname()}-{stamp}.json"


def clean(obj):
    """JSON-safe copy: non-finite floats -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(obj, Record):
        obj = obj.to_dict()
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):
        return clean(obj.item())
    return str(obj)


def _target(path) -> Path:
    """A .json path as given, else a new file in that folder; the folder created."""
    p = Path(path)
    if p.suffix != ".json":
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"{p} exists and is not a folder (name a .json file or a folder)")
        p = default_path(str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def write(path, data: dict) -> Path:
    """Write atomically (temp file + rename); returns the path.  Creates the folder."""
    path = _target(path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(clean(data), indent=1, sort_keys=False, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def check_writable(path) -> Path:
    """The path `write` will use, checked before a run measures anything: its folder is created
    and a file can be made there.  Raises OSError (with the reason) otherwise."""
    p = _target(path)
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder")
    probe = p.with_suffix(".json.tmp")
    try:
        probe.write_text("")
    except OSError as exc:
        raise OSError(f"cannot write in {p.parent}: {exc.strerror or exc}") from None
    probe.unlink()
    return p


def read(path) -> Results:
    """A result file, checked and migrated to this version: every problem is one ResultFileError line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = ("no such file" if isinstance(exc, FileNotFoundError) else "is a folder, not a result file"
               if isinstance(exc, IsADirectoryError) else "not a text file (not UTF-8)"
               if isinstance(exc, UnicodeDecodeError) else f"cannot read ({exc.strerror or exc})")
        raise ResultFileError(f"{path}: {why}") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ResultFileError(f"{path}: not JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ResultFileError(f"{path}: not a kernelbench result file (no \"kind\": \"{KIND}\")")
    v = data.get("schema_version")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1 or v > SCHEMA_VERSION:
        raise ResultFileError(f"{path}: schema_version {v!r}; this kernelbench reads 1 to {SCHEMA_VERSION}"
                              + (" (a newer kernelbench wrote it: update kernelbench)" if isinstance(v, int) and v > 1 else ""))
    data = _migrate(data, str(path))
    for key in ("entries", "peaks", "analysis"):
        if data.get(key) is None:
            data.pop(key, None)
    res = Results.from_dict(data, f"{path}: ")
    for i, e in enumerate(res.entries):
        if not isinstance(e, dict):
            raise ResultFileError(f"{path}: entry {i} is a {type(e).__name__}, expected an object")
        res.entries[i] = Entry.from_dict(e, f"{path}: entry {i}: ")
        for k in ("median_s", "iqr_s", "rel_iqr"):
            if (res.entries[i][k] or 0) < 0:
                raise ResultFileError(f"{path}: entry {i}: \"{k}\" is {res.entries[i][k]!r}, expected a number >= 0 or null")
    res.path = str(path)
    return res


def environment_summary(data: dict) -> dict:
    """A few lines that say where a result came from (for tables and the report)."""
    env = data.get("environment") or {}
    cpu = env.get("cpu") or {}
    gpu = env.get("gpu") or {}
    peaks = data.get("peaks") or {}
    versions = env.get("versions") or {}
    git = data.get("git") or {}
    return {
        "cpu": cpu.get("model") or (peaks.get("cpu") or {}).get("name"),
        "gpu": (gpu.get("name") if isinstance(gpu, dict) else None) or (peaks.get("cuda") or {}).get("name"),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        "commit": (git.get("commit") or "")[:10] + ("+dirty" if git.get("dirty") else ""),
        "created": data.get("created"),
        "host": data.get("host"),
    }
