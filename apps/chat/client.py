"""``ChatClient`` on a real Herd server, through ``llama-stack-client`` only.

Herd's own routes (status, agents, the conversation list) go through the SDK's generic
``get``. A reply streams from the Responses API with ``conversation=``: llama-stack then
keeps the turn in the conversation, but only once the response completes, so a reply
the user stops is written into the conversation here (``partial.py``).
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Any

import httpx
from llama_stack_client import APIConnectionError, APIError, APIStatusError, APITimeoutError, AsyncLlamaStackClient

from herd.apps.chat import metadata
from herd.apps.chat.events import (
    Attachment,
    ConversationInfo,
    Decision,
    Failed,
    HistoryItem,
    ReplyEvent,
    Settings,
    Target,
)
from herd.apps.chat.items import decision_item, history, request_item
from herd.apps.chat.partial import keep_partial
from herd.apps.chat.seam import ChatError
from herd.apps.chat.stream import ReplyTranslator, error_kind
from herd.errors import server_message

# llama-stack 0.7.3 ignores `after` and always answers has_more=False, so one big page is
# the whole conversation; the loop below still follows `after` for servers that page.
PAGE = 1000


def _capabilities(model: Any) -> list[str]:
    found = (model.custom_metadata or {}).get("capabilities")
    return [str(c) for c in found] if isinstance(found, list) else []


class LlamaStackChatClient:
    def __init__(self, url: str, timeout: float = 600.0, api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        key = api_key or os.environ.get("HERD_API_KEY") or None
        self._sdk = AsyncLlamaStackClient(base_url=self.url, timeout=timeout, max_retries=0, api_key=key)
        self._cleanups: set[asyncio.Task[None]] = set()

    def _error(self, exc: Exception, what: str) -> ChatError:
        if isinstance(exc, APITimeoutError | httpx.TimeoutException):
            return ChatError(f"{what}: the Herd server at {self.url} did not answer within {self.timeout:g} s", "down")
        if isinstance(exc, APIConnectionError | httpx.TransportError):
            return ChatError(f"no Herd server answers at {self.url}; start one with `herd run` or pass --url", "down")
        if isinstance(exc, APIStatusError):
            kind = error_kind(exc.status_code)
            where = "the server refused it" if kind != "failed" else f"the server failed ({exc.status_code})"
            return ChatError(f"{what}: {where}: {server_message(exc)}", kind)
        if isinstance(exc, APIError):  # an `error` event in a stream: its code is the HTTP status it stands for
            code = str(exc.body.get("code")) if isinstance(exc.body, dict) else ""
            return ChatError(f"{what}: {server_message(exc)}", error_kind(int(code) if code.isdigit() else None))
        return ChatError(f"{what}: {exc}")

    @contextlib.contextmanager
    def _mapped(self, what: str) -> Iterator[None]:
        try:
            yield
        except (APIError, httpx.HTTPError) as exc:
            raise self._error(exc, what) from exc

    async def _herd_get(self, path: str, what: str, **params: Any) -> dict[str, Any]:
        with self._mapped(what):
            reply = await self._sdk.get(path, cast_to=object, options={"params": params})
        if not isinstance(reply, dict):
            raise ChatError(f"{what}: {self.url}{path} answered no JSON object; is it a Herd server?")
        return reply

    async def ping(self) -> str:
        status = await self._herd_get("/v1/herd/status", "cannot read the server's status")
        loaded = ", ".join(status.get("models_loaded") or {}) or "none yet"
        return f"Herd at {self.url}, up {float(status.get('uptime_seconds') or 0):.0f} s, models loaded: {loaded}"

    async def targets(self) -> list[Target]:
        with self._mapped("cannot list the server's models"):
            models = await self._sdk.models.list()
        found = [
            Target(m.id, "model", str((m.custom_metadata or {}).get("description") or ""))
            for m in models
            if m.model_type not in ("embedding", "rerank")
        ]
        try:
            agents = await self._herd_get("/v1/herd/agents", "cannot list the server's agents")
        except ChatError as exc:
            if exc.kind != "missing":
                raise
            return found  # a server without Herd's gateway has no agents
        return found + [Target(f"agent:{a['name']}", "agent", a.get("description") or "") for a in agents["data"]]

    async def conversations(self) -> list[ConversationInfo]:
        listing = await self._herd_get("/v1/herd/conversations", "cannot list the conversations", limit=1000)
        return [metadata.info(c) for c in listing["data"]]

    async def create_conversation(self, title: str, settings: Settings) -> ConversationInfo:
        values = metadata.to_metadata(title, settings)
        with self._mapped("cannot create the conversation"):
            return metadata.info(await self._sdk.conversations.create(metadata=values))

    async def update_conversation(self, conversation_id: str, title: str, settings: Settings) -> ConversationInfo:
        values = metadata.to_metadata(title, settings)
        with self._mapped(f"cannot update conversation {conversation_id}"):
            return metadata.info(await self._sdk.conversations.update(conversation_id, metadata=values))

    async def delete_conversation(self, conversation_id: str) -> None:
        with self._mapped(f"cannot delete conversation {conversation_id}"):
            await self._sdk.conversations.delete(conversation_id)

    async def history(self, conversation_id: str) -> list[HistoryItem]:
        items: list[Any] = []
        seen: set[str] = set()
        params: dict[str, Any] = {}
        with self._mapped(f"cannot read conversation {conversation_id}"):
            while True:
                page = await self._sdk.conversations.items.list(conversation_id, order="asc", limit=PAGE, **params)
                fresh = [i for i in page.data if str(i.id) not in seen]
                items += fresh
                seen.update(str(i.id) for i in fresh)
                if not (page.has_more and page.last_id and fresh):
                    return history(items)
                params = {"after": page.last_id}

    async def _default_model(self) -> str:
        models = [t.id for t in await self.targets() if t.kind == "model"]
        if not models:
            raise ChatError(f"the server at {self.url} has no chat model; add one with `herd models add`", "missing")
        return models[0]

    def send(
        self, conversation_id: str, text: str, attachments: Sequence[Attachment], settings: Settings
    ) -> AsyncGenerator[ReplyEvent, None]:
        from herd.providers.vision.sources import data_url

        images = [{"type": "input_image", "image_url": data_url(a.data, a.mime), "detail": "auto"} for a in attachments]
        message: Any = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}, *images]}
        return self._reply(conversation_id, [message], [message], settings, bool(images))

    def decide(
        self, conversation_id: str, decisions: Sequence[Decision], settings: Settings
    ) -> AsyncGenerator[ReplyEvent, None]:
        answers = [decision_item(d) for d in decisions]
        requests = [request_item(d.request) for d in decisions]
        # The requests are in the conversation already; sent again (the same ids: an upsert)
        # because llama-stack matches a decision only to a request in the same input.
        return self._reply(conversation_id, [*requests, *answers], answers, settings, False)

    async def _reply(
        self, conversation_id: str, items: list[Any], kept: list[Any], settings: Settings, images: bool
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Stream one Responses turn; ``kept`` is what a stopped turn writes into the conversation
        before its partial answer."""
        options: dict[str, Any] = {"instructions": settings.instructions or None, "temperature": settings.temperature}
        translator, stream, stopped = ReplyTranslator(), None, False
        try:
            model = settings.model or await self._default_model()
            with self._mapped(f"cannot get a reply from {model}"):
                stream = await self._sdk.responses.create(
                    model=model,
                    input=items,
                    conversation=conversation_id,
                    stream=True,
                    **{k: v for k, v in options.items() if v is not None},
                )
                async for event in stream:
                    for out in translator.feed(event):
                        yield await self._explained(out, model, images) if isinstance(out, Failed) else out
            if not translator.ended:
                yield Failed(f"the server ended the reply from {model} before finishing it; try again", "failed")
        except ChatError as exc:
            yield Failed(exc.message, exc.kind)
        except (GeneratorExit, asyncio.CancelledError):
            stopped = True
            raise
        finally:
            if stopped and not translator.ended:
                await self._stop(stream, conversation_id, kept, translator)

    async def _explained(self, failed: Failed, model: str, images: bool) -> Failed:
        """A failure, or what caused it where llama-stack hid that.

        Its Responses loop reports a model of a known provider that does not exist
        ("herd/nope"), or images sent to a text-only model, only as "An unexpected error".
        """
        if failed.kind != "failed":
            return failed
        try:
            known = [t.id for t in await self.targets()]
            with self._mapped("cannot list the server's models"):
                models = await self._sdk.models.list()
        except ChatError:
            return failed
        if model not in known:
            return Failed(f"the server has no model or agent {model!r}; pick one of {', '.join(known)}", "missing")
        seeing = [m.id for m in models if "images" in _capabilities(m)]
        if images and model in {m.id for m in models} and model not in seeing:
            return Failed(
                f"{model} does not read images; send them to one that does ({', '.join(seeing) or 'none here'}) "
                "or send the text alone",
                "refused",
            )
        return failed

    async def _stop(self, stream: Any, conversation_id: str, kept: list[Any], translator: ReplyTranslator) -> None:
        """Close the stream (the server stops generating) and keep what the user saw, even if cancelled again."""
        task = asyncio.ensure_future(keep_partial(self._sdk, stream, conversation_id, kept, translator))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        await asyncio.shield(task)

    async def file_text(self, file_id: str) -> str:
        with self._mapped(f"cannot read file {file_id}"):
            return str(await self._sdk.files.content(file_id))

    async def close(self) -> None:
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
        await self._sdk.close()
