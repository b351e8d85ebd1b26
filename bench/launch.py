"""``herd run`` as a subprocess for the benchmarks: a run config, a free port, a wait until it serves, a stop."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from herd.distribution.runconfig import render


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Launched:
    """``herd run`` of ``config`` with ``HERD_HOME=home`` on a free port; its log is ``home/server.log``."""

    def __init__(self, config: dict[str, Any], home: Path) -> None:
        path = home / "run.yaml"
        path.write_text(render("embedded", config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HERD_HOME": str(home)}
        env.pop("LLAMA_STACK_CONFIG", None)
        self.log_path = home / "server.log"
        self.started = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.command(path),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def command(self, path: Path) -> list[str]:
        """The server's command line: ``herd run`` of the run config at ``path``."""
        return [str(Path(sys.executable).with_name("herd")), "run", str(path), "--port", str(self.port)]

    def wait(self, path: str, ok: Callable[[httpx.Response], bool], timeout: float) -> float:
        """Seconds from the launch until ``GET path`` satisfies ``ok``; exits the benchmark if it never does."""
        while time.perf_counter() - self.started < timeout:
            if self.proc.poll() is not None:
                self.stop()
                raise SystemExit(f"herd server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if ok(httpx.get(self.url + path, timeout=2)):
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        self.stop()
        raise SystemExit(f"herd server did not answer {path} as expected within {timeout:.0f} s; see {self.log_path}")

    def wait_loaded(self, model_id: str, timeout: float) -> dict[str, Any]:
        """``/v1/herd/status`` once ``model_id`` has loaded."""
        self.wait("/v1/herd/status", lambda r: r.status_code == 200 and model_id in r.json()["models_loaded"], timeout)
        return httpx.get(self.url + "/v1/herd/status", timeout=2).json()

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(15)
