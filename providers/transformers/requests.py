"""From an OpenAI-shaped request body to a job, and from a job's events to OpenAI-shaped dicts.

The dicts have the shape llama.cpp's server returns, so ``toolcalls`` (and the embedded
provider's ``ToolPlan``) read them unchanged.
"""

import asyncio
import secrets
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

from herd.errors import ContextOverflow, EngineFailure, InvalidRequest

from .decode import Job, Settings
from .jsonfsm import check_schema
from .loader import Loaded

Chunk = dict[str, Any]
_UNSUPPORTED = ("logit_bias", "frequency_penalty", "presence_penalty", "best_of", "suffix")


def settings_of(body: dict[str, Any], cap: int, loaded: Loaded, prompt_tokens: int) -> Settings:
    for key in _UNSUPPORTED:
        if body.get(key):
            raise InvalidRequest(f"`{key}` is not supported by the transformers provider; drop it")
    if body.get("echo"):
        raise InvalidRequest("`echo` is not supported by the transformers provider; drop it")
    wanted = body.get("max_completion_tokens") or body.get("max_tokens")
    max_tokens = min(int(wanted or cap), cap)
    if prompt_tokens + max_tokens > loaded.context_length:
        if wanted or prompt_tokens >= loaded.context_length:
            raise ContextOverflow(
                f"the prompt is {prompt_tokens} tokens and max_tokens {max_tokens}, but model '{loaded.spec.id}' "
                f"has a context window of {loaded.context_length} tokens; shorten the messages or ask for fewer"
            )
        max_tokens = loaded.context_length - prompt_tokens
    stop = body.get("stop") or ()
    logprobs = body.get("logprobs")
    top = body.get("top_logprobs")
    return Settings(
        max_tokens=max_tokens,
        temperature=float(body["temperature"]) if body.get("temperature") is not None else 1.0,
        top_p=float(body["top_p"]) if body.get("top_p") is not None else 1.0,
        seed=body.get("seed"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
        top_logprobs=(int(top or 0) if logprobs is True else int(logprobs)) if logprobs else None,
        schema=schema_of(body),
    )


def schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the reply must fit: a forced call's (``json_schema``, set by ToolPlan) or response_format's."""
    if body.get("json_schema"):
        schema: dict[str, Any] = body["json_schema"]
        check_schema(schema, "the tool's parameters")
        return schema
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        return {"type": "object"}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        check_schema(schema, "response_format.json_schema.schema")
        return schema
    return None


async def events(job: Job, submit: Any) -> AsyncIterator[dict[str, Any]]:
    """Submit ``job`` and yield its events in the event loop; the first is awaited before this returns."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def emit(event: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    job.emit = emit
    submit(job)
    first = await queue.get()
    if first["type"] == "error":
        raise first["error"]

    async def rest() -> AsyncIterator[dict[str, Any]]:
        try:
            event = first
            while True:
                if event["type"] == "error":
                    raise event["error"]
                if event["type"] != "start":
                    yield event
                if event["type"] == "done":
                    return
                event = await queue.get()
        finally:
            job.cancelled.set()  # a client that left stops its sequence at the next step

    stream = rest()
    weakref.finalize(stream, job.cancelled.set)  # a stream nobody iterates stops too
    return stream


def usage(job: Job) -> dict[str, int]:
    completion = len(job.tokens)
    return {
        "prompt_tokens": job.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": job.prompt_tokens + completion,
    }


def logprobs_of(job: Job) -> dict[str, Any] | None:
    if job.settings.top_logprobs is None:
        return None
    content = [
        {
            **p,
            "bytes": list(p["token"].encode()),
            "top_logprobs": [{**t, "bytes": list(t["token"].encode())} for t in p["top_logprobs"]],
        }
        for p in job.logprobs
    ]
    return {"content": content}


def head(model: str, kind: str) -> Chunk:
    prefix = "chatcmpl" if kind.startswith("chat") else "cmpl"
    return {"id": f"{prefix}-{secrets.token_hex(12)}", "object": kind, "created": int(time.time()), "model": model}


async def whole(job: Job, submit: Any, model: str, chat: bool) -> Chunk:
    """The whole reply as an OpenAI-shaped dict."""
    finish = None
    async for event in await events(job, submit):
        if event["type"] == "done":
            finish = event["finish_reason"]
    if finish is None:
        raise EngineFailure(f"model '{model}' ended a reply without finishing it")
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish, "logprobs": logprobs_of(job)}
    if chat:
        choice["message"] = {"role": "assistant", "content": job.text}
    else:
        choice["text"] = job.text
    return {**head(model, "chat.completion" if chat else "text_completion"), "choices": [choice], "usage": usage(job)}


async def streamed(job: Job, submit: Any, model: str, chat: bool) -> AsyncIterator[Chunk]:
    """Chunks as llama.cpp streams them: deltas, one with the finish_reason, then one with usage."""
    base = head(model, "chat.completion.chunk" if chat else "text_completion")
    source = await events(job, submit)

    def chunk(text: str | None, finish: str | None) -> Chunk:
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if chat:
            choice["delta"] = {"content": text} if text is not None else {}
        else:
            choice["text"] = text or ""
        return {**base, "choices": [choice]}

    async def run() -> AsyncIterator[Chunk]:
        try:
            if chat:
                yield {
                    **base,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                }
            async for event in source:
                if event["type"] == "text":
                    yield chunk(event["text"], None)
                elif event["type"] == "done":
                    yield chunk(None, event["finish_reason"])
            yield {**base, "choices": [], "usage": usage(job)}
        finally:
            await source.aclose()  # type: ignore[attr-defined]  # an async generator

    return run()
