"""A ``file_search`` whose vector stores cannot be reached fails, instead of finding nothing.

llama-stack's Responses loop searches each store and turns any error into no results,
so with the Chroma server down the model reads "found 0 chunks" and answers as if the
files held nothing. Here, when every store searched was unavailable (``StoreUnavailable``),
the tool call raises: the ``file_search_call`` item gets ``status: "failed"`` and the
model reads the reason (which names the Chroma server) as the tool's output. A store that
answers keeps its results even when another one fails.
"""

import contextvars
from typing import Any

from herd.errors import StoreUnavailable

# The failures of the file_search running in this task (its per-store searches share the list).
FAILURES: contextvars.ContextVar[list[StoreUnavailable] | None] = contextvars.ContextVar(
    "herd_file_search_failures", default=None
)


def record(exc: StoreUnavailable) -> None:
    failures = FAILURES.get()
    if failures is not None:
        failures.append(exc)


def install() -> None:
    """Have the Responses loop build ToolExecutors whose file_search reports unreachable stores."""
    from llama_stack.providers.inline.responses.builtin.responses import openai_responses
    from llama_stack.providers.inline.responses.builtin.responses.tool_executor import ToolExecutor

    if getattr(openai_responses.ToolExecutor, "herd_reports_store_errors", False):
        return

    class ReportingToolExecutor(ToolExecutor):
        herd_reports_store_errors = True

        async def _execute_file_search_via_vector_store(self, query: str, response_file_search_tool: Any) -> Any:
            failures: list[StoreUnavailable] = []
            token = FAILURES.set(failures)
            try:
                result = await super()._execute_file_search_via_vector_store(query, response_file_search_tool)
            finally:
                FAILURES.reset(token)
            if failures and len(failures) >= len(set(response_file_search_tool.vector_store_ids)):
                raise failures[0]
            return result

    openai_responses.ToolExecutor = ReportingToolExecutor  # type: ignore[misc]  # built per request from this name
