"""A smoke test of the inference bench (bench/inference.py) on the tiny model: direct, floor and Herd in one run."""

import re
import subprocess
import sys
from pathlib import Path

from .conftest import CHAT_MODEL

BENCH = Path(__file__).parent.parent / "bench" / "inference.py"
MODEL = CHAT_MODEL.removeprefix("herd/")


def test_the_inference_bench_streams_three_ways_and_reports_each() -> None:
    args = ["--model", MODEL, "--tokens", "32", "--rounds", "1", "--ttft-rounds", "2", "--turns", "2"]
    run = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    decode = re.search(
        r"^decode tokens/s\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)x\s+([\d.]+)x$", out, re.M
    )
    assert decode, out
    direct, floor, herd, floor_ratio, herd_ratio, herd_floor = map(float, decode.groups())
    assert min(direct, floor, herd) > 0
    assert abs(floor_ratio - floor / direct) < 0.01 and abs(herd_ratio - herd / direct) < 0.01
    assert abs(herd_floor - herd / floor) < 0.01
    assert re.search(r"^time to first token ms(\s+[\d.]+){3}(\s+[-+][\d.]+ms){3}$", out, re.M), out
    assert re.search(r"^start-up without model loads: [\d.]+ s$", out, re.M), out
