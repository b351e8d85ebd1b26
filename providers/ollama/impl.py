"""llama-stack's Ollama adapter, with the replies of requests that carry tools normalised.

Completions of one prompt go to Ollama's raw generate, which leaves the prompt as it is
(``raw.py``). Ollama parses tool calls only in the format a model's template declares; small models
often write them otherwise (fenced JSON, pythonic lists). Replies go through the same
reader as the embedded provider's, and a bad call is asked for once more with
Ollama's JSON-schema output (``response_format``) constrained to that function's call.
An Ollama that cannot be reached, or goes away mid-stream, is a 503 naming it (``unreachable.py``).
Images reach Ollama inline (``images.py``), and only for a model whose ``/api/show`` lists
vision; a model Ollama has not pulled is a 404 saying how to pull it (``models.py``).
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import ollama
import openai
from llama_stack.providers.remote.inference.ollama.ollama import OllamaInferenceAdapter
from llama_stack_api import (
    Model,
    ModelType,
    OpenAIChatCompletion,
    OpenAIChatCompletionChunk,
    OpenAIChatCompletionRequestWithExtraBody,
    OpenAICompletion,
    OpenAICompletionRequestWithExtraBody,
)
from pydantic import PrivateAttr

from herd.providers import toolcalls

from . import images
from .config import HerdOllamaConfig
from .models import Capabilities, cannot_see, herd_capabilities, not_pulled
from .unreachable import guarded

_JSON_FORMATS = ("json_schema", "json_object")


class HerdOllamaInference(OllamaInferenceAdapter):
    config: HerdOllamaConfig
    download_images: bool = False  # images.py inlines them, with a cap and a 400 for a URL it cannot fetch
    _capabilities: Capabilities = PrivateAttr(default_factory=Capabilities)

    async def openai_completion(self, params: OpenAICompletionRequestWithExtraBody) -> Any:
        return await guarded(self.get_base_url(), self._completion(params))

    async def openai_chat_completion(
        self, params: OpenAIChatCompletionRequestWithExtraBody
    ) -> OpenAIChatCompletion | AsyncIterator[OpenAIChatCompletionChunk]:
        return await guarded(self.get_base_url(), self._serve(params))

    async def list_models(self) -> list[Model] | None:
        """Ollama's models, each with the capabilities its ``/api/show`` reports (Herd's words, and Ollama's)."""
        models = await super().list_models()
        chat = [m for m in models or [] if m.model_type == ModelType.llm]
        found = await asyncio.gather(*(self._shown(m.provider_resource_id or m.identifier) for m in chat))
        for model, capabilities in zip(chat, found, strict=True):
            if capabilities is not None:
                herd = herd_capabilities(capabilities)
                model.metadata = {**model.metadata, "capabilities": herd, "ollama_capabilities": capabilities}
        return models

    async def _shown(self, model: str) -> list[str] | None:
        try:
            return await self._capabilities.of(self.ollama_client, model)
        except (ollama.ResponseError, ConnectionError):  # listed but not shown: the model is still usable
            return None

    async def _serve(
        self, params: OpenAIChatCompletionRequestWithExtraBody
    ) -> OpenAIChatCompletion | AsyncIterator[OpenAIChatCompletionChunk]:
        parts = images.image_parts(params.messages)
        if parts:
            await self._require_vision(params.model)
            params = params.model_copy(deep=True)  # the caller's messages keep their URLs
            await images.inline(images.image_parts(params.messages), self.config.max_image_url_bytes)
        try:
            return await self._chat(params)
        except openai.NotFoundError as exc:
            if "not found" in str(exc) and params.model in str(exc):
                raise not_pulled(params.model, self.get_base_url()) from exc
            raise

    async def _require_vision(self, model: str) -> None:
        try:
            capabilities = await self._capabilities.of(self.ollama_client, model)
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise not_pulled(model, self.get_base_url()) from exc
            raise
        if capabilities is not None and "vision" not in capabilities:
            raise cannot_see(model)

    async def _completion(self, params: OpenAICompletionRequestWithExtraBody) -> Any:
        """One prompt, not streamed: Ollama's raw generate, so no chat template touches it (``raw.py``)."""
        if params.stream or not isinstance(params.prompt, str) or (params.n or 1) != 1:
            return await super().openai_completion(params)
        from .raw import as_completion, generate_args

        reply = await self.ollama_client.generate(**generate_args(params))
        return OpenAICompletion.model_validate(as_completion(reply, params.model))

    async def _chat(
        self, params: OpenAIChatCompletionRequestWithExtraBody
    ) -> OpenAIChatCompletion | AsyncIterator[OpenAIChatCompletionChunk]:
        tools = params.tools or []
        if not (self.config.normalise_tool_calls and tools and params.tool_choice != "none"):
            return await super().openai_chat_completion(params)
        json_reply = _format_type(params) in _JSON_FORMATS
        reply = await super().openai_chat_completion(params)
        retry = self._retry(params, tools)
        history = toolcalls.History.of([_plain(m) for m in params.messages], tools, self.config.drop_guesses)
        if not params.stream:
            result = await toolcalls.normalise_completion(_plain(reply), tools, retry, json_reply, history)
            return OpenAIChatCompletion.model_validate(result)
        include_usage = bool((params.stream_options or {}).get("include_usage"))
        reader = toolcalls.CallReader(tools, json_reply)

        async def chunks() -> AsyncIterator[dict[str, Any]]:
            async for chunk in reply:  # type: ignore[union-attr]  # a stream when params.stream
                yield _plain(chunk)

        async def normalised() -> AsyncIterator[OpenAIChatCompletionChunk]:
            async for chunk in toolcalls.normalise_stream(chunks(), tools, reader, retry, include_usage, history):
                yield OpenAIChatCompletionChunk.model_validate(chunk)

        return normalised()

    def _retry(self, params: OpenAIChatCompletionRequestWithExtraBody, tools: list[dict[str, Any]]) -> toolcalls.Retry:
        async def retry(tool_choice: Any) -> dict[str, Any]:
            request = params.model_dump(exclude_none=True)
            for key in ("tools", "tool_choice", "parallel_tool_calls", "stream", "stream_options"):
                request.pop(key, None)
            if tool_choice == "none":  # the answer from results it already has (see toolcalls.repeats)
                plain = OpenAIChatCompletionRequestWithExtraBody.model_validate(request)
                return _plain(await super(HerdOllamaInference, self).openai_chat_completion(plain))
            request["messages"] = toolcalls.with_system(request["messages"], toolcalls.instructions(tools, tool_choice))
            schema = toolcalls.forced_schema(tools, tool_choice)
            request["response_format"] = {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": schema}}
            constrained = OpenAIChatCompletionRequestWithExtraBody.model_validate(request)
            return _plain(await super(HerdOllamaInference, self).openai_chat_completion(constrained))

        return retry


def _format_type(params: OpenAIChatCompletionRequestWithExtraBody) -> str | None:
    fmt = params.response_format
    return fmt.get("type") if isinstance(fmt, dict) else getattr(fmt, "type", None)


def _plain(obj: Any) -> dict[str, Any]:
    """An OpenAI SDK object (or llama-stack model) as a plain dict."""
    data: dict[str, Any] = obj.model_dump(exclude_none=True) if hasattr(obj, "model_dump") else dict(obj)
    return data
