"""Screening inside llama-stack's Responses loop: tool results and file_search chunks.

The Responses provider calls inference and vector search itself, between the model's
turns, so Herd wraps the two APIs it holds. During a request with a ``Screening``
(``screening.CURRENT``):
- each retrieved chunk is judged by the ``tool_results`` shields on its own, and a
  flagged chunk's text is replaced by a notice; other chunks reach the model unchanged;
- every other tool result (MCP, function outputs) is judged once before the model reads
  it, with the same replacement.
Outside such a request the wrappers only pass calls through.
"""

import hashlib
from typing import Any

from herd.distribution import file_search_errors
from herd.distribution.screening import CURRENT, Screening, notice
from herd.errors import ShieldUnavailable, StoreUnavailable
from herd.providers.shields.verdict import Turn

FILE_SEARCH_TOOLS = ("file_search", "knowledge_search")


class ScreenedVectorIO:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def openai_search_vector_store(self, *args: Any, **kwargs: Any) -> Any:
        try:
            page = await self._inner.openai_search_vector_store(*args, **kwargs)
        except StoreUnavailable as exc:
            file_search_errors.record(exc)
            raise
        screening = CURRENT.get()
        if screening is None or not screening.policy.tool_results:
            return page
        for result in page.data:
            for part in result.content:
                text = getattr(part, "text", None)
                if text:
                    part.text = await _screened(screening, text, f"file_search:{result.filename}")
        return page


async def _screened(screening: Screening, text: str, what: str) -> str:
    try:
        judgement = await screening.judge(screening.policy.tool_results, [Turn("tool", text)], "tool_result", what)
    except ShieldUnavailable as exc:
        return f"[Herd withheld this content: it could not be screened ({exc})]"
    if judgement.flagged is not None:
        return notice(judgement.flagged)
    return judgement.redacted if judgement.redacted is not None else text


class ScreenedInference:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def openai_chat_completion(self, params: Any) -> Any:
        await self._screen(params)
        return await self._inner.openai_chat_completion(params)

    async def openai_chat_completions_with_reasoning(self, params: Any) -> Any:
        await self._screen(params)
        return await self._inner.openai_chat_completions_with_reasoning(params)

    async def _screen(self, params: Any) -> None:
        screening = CURRENT.get()
        if screening is None or not screening.policy.tool_results:
            return
        names = _tool_names(params.messages)
        for message in params.messages:
            if getattr(message, "role", None) != "tool" or names.get(message.tool_call_id) in FILE_SEARCH_TOOLS:
                continue
            text = message.content if isinstance(message.content, str) else _text(message.content)
            key = hashlib.sha256(f"{message.tool_call_id}:{text}".encode()).hexdigest()
            if key not in screening.judged:  # each loop turn resends earlier results: judge each once
                screening.judged[key] = await _screened(screening, text, f"tool:{names.get(message.tool_call_id)}")
            if screening.judged[key] != text:
                message.content = screening.judged[key]


def _tool_names(messages: list[Any]) -> dict[str, str]:
    names = {}
    for message in messages:
        for call in getattr(message, "tool_calls", None) or []:
            if call.id and call.function is not None:
                names[call.id] = call.function.name or ""
    return names


def _text(content: Any) -> str:
    return "\n".join(getattr(part, "text", "") or "" for part in content or [])


def install(responses_impl: Any) -> bool:
    """Wrap the inference and vector_io APIs the Responses provider calls; False if it has none."""
    inner = getattr(responses_impl, "openai_responses_impl", None)
    if inner is None or not hasattr(inner, "inference_api"):
        return False
    inner.inference_api = ScreenedInference(inner.inference_api)
    inner.vector_io_api = ScreenedVectorIO(inner.vector_io_api)
    return True
