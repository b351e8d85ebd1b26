"""Starts the embedded distribution as a child process when ``herd chat`` finds no server.

The child is ``herd run`` on a free port of 127.0.0.1, in its own process group, logging
to ``$HERD_HOME/chat-server.log``; it stops when the chat app does.
"""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

READY_TIMEOUT = 300.0  # the first start joins the default model's split weights


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedLauncher:
    def __init__(self, port: int | None = None, log_path: Path | None = None, config: Path | None = None) -> None:
        from herd.distribution.home import herd_home

        self.port = port
        self.config = config  # a run config; None serves the default distribution
        self.log_path = log_path or herd_home() / "chat-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        pid = f", pid {self.process.pid}" if self.process else ""
        return f"embedded distribution (child process{pid}) at {self.url}"

    async def start(self) -> str:
        """Start the server and wait until it answers; RuntimeError with the log's end if it does not."""
        self.port = self.port or _free_port()
        herd = Path(sys.executable).with_name("herd")
        command = [str(herd)] if herd.exists() else [sys.executable, "-c", "from herd.cli.main import main; main()"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "run", *([str(self.config)] if self.config else []), "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        await self._wait_ready()
        return self.url

    async def _wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
        async with httpx.AsyncClient(timeout=2) as http:
            while asyncio.get_running_loop().time() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"the embedded server exited ({self.process.returncode}): {self._tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    # 401: up, with keys required; the chat client then says which key to give.
                    if (await http.get(f"{self.url}/v1/herd/status")).status_code in (200, 401):
                        return
                await asyncio.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the embedded server did not answer within {READY_TIMEOUT:.0f} s: {self._tail()}")

    def _tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) + f" (log: {self.log_path})"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
