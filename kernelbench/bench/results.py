"""The versioned result file: schema, environment, write / read.

    {"schema_version": 1, "kind": "kernelbench-results", "created": ISO date, "host": ...,
     "git": {"commit": ..., "dirty": bool}, "argv": [...], "suites": [...], "quick": bool,
     "selection": {...}, "environment": kernelbench.info.collect() (or a fallback),
     "threads": {...}, "peaks": {"cpu": DevicePeaks, "cuda": DevicePeaks},
     "entries": [entry, ...], "analysis": {"crossovers": [...]}, "interrupted": bool,
     "duration_s": float}

An entry is one rung on one case (see engine.new_entry for its fields).  Non-finite floats are
written as null.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Optional

SCHEMA_VERSION = 1
KIND = "kernelbench-results"


class ResultFileError(ValueError):
    pass


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


def new_result(suites: list, argv: list, quick: bool, selection: dict) -> dict:
    return {"schema_version": SCHEMA_VERSION, "kind": KIND,
            "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "host": socket.gethostname(), "git": git_info(), "argv": list(argv), "suites": list(suites),
            "quick": quick, "selection": selection, "environment": {}, "threads": {}, "peaks": {},
            "entries": [], "analysis": {}, "interrupted": False, "duration_s": None}


def default_path(results_dir: str = "kb_results") -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(results_dir) / f"{socket.gethostname()}-{stamp}.json"


def clean(obj):
    """JSON-safe copy: non-finite floats -> None, tuples -> lists, numpy scalars -> Python."""
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


def write(path, data: dict) -> Path:
    """Write atomically (temp file + rename); returns the path.  Creates the folder."""
    path = Path(path)
    if path.suffix != ".json":
        path = default_path(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(clean(data), indent=1, sort_keys=False, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def check_writable(path) -> Path:
    """The path `write` will use, checked before a run measures anything: its folder is created
    and a file can be made there.  Raises OSError (with the reason) otherwise."""
    p = Path(path)
    if p.suffix != ".json":
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"{p} exists and is not a folder (name a .json file or a folder)")
        p = default_path(str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder")
    probe = p.with_suffix(".json.tmp")
    try:
        probe.write_text("")
    except OSError as exc:
        raise OSError(f"cannot write in {p.parent}: {exc.strerror or exc}") from None
    probe.unlink()
    return p


def read(path) -> dict:
    """A result file, checked: every problem is one ResultFileError line (never a traceback)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ResultFileError(f"{path}: is a folder, not a result file") from None
    except UnicodeDecodeError:
        raise ResultFileError(f"{path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ResultFileError(f"{path}: not JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ResultFileError(f"{path}: not a kernelbench result file (no \"kind\": \"{KIND}\")")
    v = data.get("schema_version")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1 or v > SCHEMA_VERSION:
        raise ResultFileError(f"{path}: schema_version {v!r}; this kernelbench reads 1 to {SCHEMA_VERSION}")
    data.setdefault("entries", [])
    data.setdefault("peaks", {})
    data.setdefault("analysis", {})
    for key, typ in (("entries", list), ("peaks", dict), ("analysis", dict)):
        if not isinstance(data[key], typ):
            raise ResultFileError(f"{path}: \"{key}\" is a {type(data[key]).__name__}, expected a {typ.__name__}")
    for i, e in enumerate(data["entries"]):
        if not isinstance(e, dict):
            raise ResultFileError(f"{path}: entry {i} is a {type(e).__name__}, expected an object")
        for k in ("suite", "key", "impl"):
            if not isinstance(e.get(k), str):
                raise ResultFileError(f"{path}: entry {i}: \"{k}\" missing or not a string")
        if not isinstance(e.get("status"), (str, type(None))):   # null: cut short by Ctrl-C
            raise ResultFileError(f"{path}: entry {i}: \"status\" is {e.get('status')!r}, expected a string")
        for k in ("median_s", "iqr_s", "rel_iqr"):
            x = e.get(k)
            if x is not None and (isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0):
                raise ResultFileError(f"{path}: entry {i}: \"{k}\" is {x!r}, expected a number >= 0 or null")
    data["_path"] = str(path)
    return data


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
