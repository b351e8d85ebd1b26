"""One MCP server's connection, owned by a task of its own.

The MCP SDK's transports are anyio context managers that must be left in the task that
entered them, while tool calls come from whichever request task asks. So each server gets
an owner task that connects (starting the child process for stdio), then serves requests
from a queue one at a time. A call that outlives its timeout cancels the owner, which
closes the transport and ends the child process; a server that crashed or hung is started
again on the next call, up to ``restarts_per_minute`` times, then reported down.
"""

import asyncio
import contextlib
import os
import tempfile
import time
from collections import deque
from typing import Any

from herd.errors import ToolUnavailable
from herd.providers.mcp.config import McpServer

Request = tuple[str, str | None, dict[str, Any] | None, "asyncio.Future[Any]"]


class ServerSession:
    def __init__(self, spec: McpServer, restarts_per_minute: int) -> None:
        self.spec = spec
        self.restarts_per_minute = restarts_per_minute
        self.starts: deque[float] = deque()
        self.owner: asyncio.Task[None] | None = None
        self.queue: asyncio.Queue[Request] = asyncio.Queue()
        self.ready: asyncio.Future[None] | None = None
        # The child's stderr, for error messages; closed by close().
        self.errlog = tempfile.TemporaryFile(mode="w+", prefix=f"herd-mcp-{spec.name}-")  # noqa: SIM115
        self.lock = asyncio.Lock()
        self.tools: list[Any] | None = None

    def describe(self) -> str:
        return f"MCP server '{self.spec.name}' ({' '.join(self.spec.command or []) or self.spec.url})"

    async def list_tools(self) -> list[Any]:
        """The server's tools, asked once per connection: every listing and call through Herd's
        routes needs them, and a restart (which may bring other tools) asks again."""
        if self.tools is None or not self._connected():
            self.tools = list((await self.request("list", None, None)).tools)
        return self.tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return await self.request("call", name, arguments)

    async def request(self, kind: str, name: str | None, arguments: dict[str, Any] | None) -> Any:
        async with self.lock:  # one request at a time: a hung call is cut off before the next starts
            await self._running()
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            await self.queue.put((kind, name, arguments, future))
            try:
                return await asyncio.wait_for(future, self.spec.timeout_seconds)
            except TimeoutError:
                await self.stop()
                what = f"the call to {name}" if name else "listing its tools"
                raise ToolUnavailable(
                    f"{self.describe()} did not finish {what} within {self.spec.timeout_seconds:g} s; it was stopped "
                    "and starts again on the next call (raise `timeout_seconds` if calls need longer)"
                ) from None
            except ToolUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - the transport's errors, told in words
                await self.stop()
                raise ToolUnavailable(self._failure(exc)) from exc

    def _failure(self, exc: BaseException) -> str:
        reason = str(exc) or type(exc).__name__
        tail = self.stderr_tail()
        return f"{self.describe()} failed ({reason}); it starts again on the next call" + (
            f". Its last output on stderr: {tail}" if tail else ""
        )

    def stderr_tail(self, chars: int = 400) -> str:
        with contextlib.suppress(OSError, ValueError):
            self.errlog.flush()
            size = self.errlog.seek(0, os.SEEK_END)
            self.errlog.seek(max(0, size - chars))
            return " | ".join(line.strip() for line in self.errlog.read().splitlines() if line.strip())[-chars:]
        return ""

    def _connected(self) -> bool:
        ready = self.ready
        if self.owner is None or self.owner.done() or ready is None or not ready.done():
            return False
        return not ready.cancelled() and ready.exception() is None

    async def _running(self) -> None:
        if self._connected():
            return
        await self.stop()
        now = time.monotonic()
        while self.starts and now - self.starts[0] > 60:
            self.starts.popleft()
        if len(self.starts) > self.restarts_per_minute:
            raise ToolUnavailable(
                f"{self.describe()} stopped {len(self.starts)} times in the last minute and is not started again "
                f"for now; fix it (its last stderr: {self.stderr_tail() or 'empty'}) or wait a minute"
            )
        self.starts.append(now)
        self.queue = asyncio.Queue()
        self.ready = asyncio.get_running_loop().create_future()
        self.owner = asyncio.create_task(self._own(self.ready, self.queue))
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), self.spec.timeout_seconds)
        except TimeoutError:
            await self.stop()
            raise ToolUnavailable(
                f"{self.describe()} did not start within {self.spec.timeout_seconds:g} s"
                + (f"; its stderr: {self.stderr_tail()}" if self.stderr_tail() else "")
            ) from None
        except Exception as exc:  # noqa: BLE001 - a server that cannot start, told in words
            await self.stop()
            raise ToolUnavailable(self._failure(exc).replace("failed", "could not start", 1)) from exc

    async def _own(self, ready: "asyncio.Future[None]", queue: "asyncio.Queue[Request]") -> None:
        from mcp import ClientSession

        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                ready.set_result(None)
                while True:
                    kind, name, arguments, future = await queue.get()
                    try:
                        result = await (
                            session.list_tools() if kind == "list" else session.call_tool(name or "", arguments)
                        )
                    except Exception as exc:  # noqa: BLE001 - handed to the caller, then this connection ends
                        if not future.done():
                            future.set_exception(exc)
                        return
                    if not future.done():
                        future.set_result(result)
        except Exception as exc:  # noqa: BLE001 - a failed start is handed to whoever waits for it
            if not ready.done():
                ready.set_exception(exc)

    def _transport(self) -> Any:
        if self.spec.command:
            from mcp import StdioServerParameters
            from mcp.client.stdio import get_default_environment, stdio_client

            command, *args = self.spec.command
            env = {**get_default_environment(), **self.spec.env}
            params = StdioServerParameters(command=command, args=args, env=env, cwd=self.spec.cwd)
            return stdio_client(params, errlog=self.errlog)
        from mcp.client.streamable_http import streamablehttp_client

        return _two(streamablehttp_client(self.spec.url or ""))

    async def stop(self) -> None:
        self.tools = None
        owner, self.owner = self.owner, None
        if owner is not None and not owner.done():
            owner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(owner, 10)
        if self.ready is not None and not self.ready.done():
            self.ready.cancel()

    async def close(self) -> None:
        await self.stop()
        self.errlog.close()


@contextlib.asynccontextmanager
async def _two(manager: Any) -> Any:
    """streamablehttp_client yields (read, write, session id getter); ClientSession needs the first two."""
    async with manager as (read, write, _session_id):
        yield read, write
