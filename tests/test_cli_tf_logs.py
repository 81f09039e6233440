"""TensorFlow's start-up INFO lines (absl before InitializeLog, oneDNN, cpu_feature_guard) are dropped
from what `kernelbench info` and the benchmark print; other stderr output still gets through."""
import os
import subprocess
import sys

import pytest

from kernelbench.info import TF_NOISE, quiet_tf_logs

ABSL = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ONEDNN = ("I0000 00:00:1796279655.279195   22748 port.cc:153] oneDNN custom operations are on. You may see "
          "slightly different numerical results due to floating-point round-off errors.")


def test_filter_drops_tf_info_and_keeps_the_rest(capfd, monkeypatch):
    monkeypatch.delenv("KB_TF_LOGS", raising=False)
    with quiet_tf_logs():
        os.write(2, f"{ABSL}\n{ONEDNN}\nE0000 something real went wrong\n".encode())
    err = capfd.readouterr().err
    assert err == "E0000 something real went wrong\n"
    assert all(any(rx.search(ln) for rx in TF_NOISE) for ln in (ABSL, ONEDNN))


def test_kb_tf_logs_keeps_everything(capfd, monkeypatch):
    monkeypatch.setenv("KB_TF_LOGS", "1")
    with quiet_tf_logs():
        os.write(2, f"{ABSL}\n".encode())
    assert ABSL in capfd.readouterr().err


def test_info_prints_no_tf_noise():
    pytest.importorskip("tensorflow")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KB_TF_LOGS")}
    r = subprocess.run([sys.executable, "-m", "kernelbench", "info"], capture_output=True, text=True, timeout=300,
                       env=env)
    assert r.returncode == 0, r.stderr
    assert "absl::InitializeLog" not in r.stderr and "oneDNN custom operations" not in r.stderr, r.stderr
    assert "front door" in r.stdout.lower() or "frontdoor" in r.stdout.lower() or "tf" in r.stdout
