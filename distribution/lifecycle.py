"""Graceful shutdown: SIGTERM drains, a second signal (or Ctrl-C) stops at once.

On SIGTERM the server keeps listening but answers every new request 503 with
``Retry-After`` (``guard.py``), lets the requests in flight (streams included) finish for
up to ``drain_seconds``, then stops the way uvicorn does: open connections get a few
more seconds, then llama-stack shuts its providers down (stores flushed and closed).
The process then exits 0, as a supervisor expects of a requested stop.
"""

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from herd.distribution.priority import raise_this_thread

DRAIN_SECONDS = 20.0
HTTP_PRIORITY = 10


class Drain:
    def __init__(self, seconds: float = DRAIN_SECONDS) -> None:
        self.seconds = seconds
        self.draining = False
        self.in_flight = 0

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def wait(self) -> int:
        """Wait until nothing is in flight or the drain time is up; returns what was still running."""
        import asyncio

        deadline = time.monotonic() + self.seconds
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.in_flight


def server_class() -> Any:
    """uvicorn's ``Server`` with SIGTERM draining first (imported late: `herd --help` needs neither)."""
    import asyncio
    import signal
    from types import FrameType

    import uvicorn

    class DrainingServer(uvicorn.Server):
        def __init__(self, config: Any, drain: Drain, http_priority: int = 0) -> None:
            super().__init__(config)
            self.drain = drain
            self.http_priority = http_priority
            self.loop: asyncio.AbstractEventLoop | None = None

        async def serve(self, sockets: Any = None) -> None:
            self.loop = asyncio.get_running_loop()
            if not raise_this_thread(self.http_priority):
                from llama_stack.log import get_logger

                get_logger(name=__name__, category="server").info(
                    "serving at the process's priority: raising the HTTP threads above the engines' "
                    "(--http-priority) needs CAP_SYS_NICE or an RLIMIT_NICE that allows it"
                )
            await super().serve(sockets)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig != signal.SIGTERM or self.drain.draining or self.should_exit or self.loop is None:
                return super().handle_exit(sig, frame)
            self.drain.draining = True
            self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self._drain()) if self.loop else None)

        async def _drain(self) -> None:
            from llama_stack.log import get_logger

            log = get_logger(name=__name__, category="server")
            log.info(f"SIGTERM: draining {self.drain.in_flight} requests (at most {self.drain.seconds:g} s)")
            left = await self.drain.wait()
            if left:
                log.warning(f"drain time is up with {left} requests still running; stopping")
            self.should_exit = True  # not a captured signal: uvicorn returns and the process exits 0

    return DrainingServer
