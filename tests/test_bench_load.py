"""A smoke test of the load bench (bench/load.py): a few clients for a few seconds, no errors."""

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import CHAT_MODEL, HerdServer

BENCH = Path(__file__).parent.parent / "bench"


def _bench_main() -> Any:
    sys.path.insert(0, str(BENCH))  # the bench imports its launcher as a plain module beside it
    try:
        spec = importlib.util.spec_from_file_location("herd_bench_load", BENCH / "load.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module.main


def test_the_load_bench_completes_requests_without_errors(
    tiny_server: HerdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--url", tiny_server.base_url, "--pid", str(tiny_server.process.pid), "--model", CHAT_MODEL]
    result = _bench_main()([*argv, "--clients", "4", "--seconds", "5", "--warmup", "1", "--settle", "0.5"])
    out = capsys.readouterr().out
    assert result["errors"] == 0, result["error_kinds"]
    assert result["ok"] > 0
    assert result["rss_before_mb"] and result["rss_after_mb"]
    assert "completed requests/s" in out and "targets met" in out
