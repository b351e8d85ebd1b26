"""A smoke test of the TTFT breakdown bench (bench/ttft_breakdown.py) on the tiny model."""

import re
import subprocess
import sys
from pathlib import Path

from .conftest import CHAT_MODEL

BENCH = Path(__file__).parent.parent / "bench" / "ttft_breakdown.py"
MODEL = CHAT_MODEL.removeprefix("herd/")


def test_the_ttft_breakdown_stamps_every_point_in_order() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--model", MODEL, "--requests", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert f"model {MODEL}; 3 requests" in out
    segments = dict(re.findall(r"^  (\S[^\d-]*?-> [a-z ]+?)\s+(-?[\d.]+)\s+\(min", out, re.M))
    assert len(segments) == 9, out
    # Stamps taken in the order a request passes them: no segment can be negative.
    assert all(float(v) >= 0 for v in segments.values()), out
    values = dict(re.findall(r"^  (Herd TTFT|direct TTFT|outside the engine)\s+(-?[\d.]+)$", out, re.M))
    assert float(values["Herd TTFT"]) > float(values["outside the engine"]) > 0, out
