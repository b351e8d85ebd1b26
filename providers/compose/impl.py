"""Composed models: a vision stage reads the images, a lightweight model answers.

A request to a composed model is rewritten, then sent through llama-stack's own
inference router to the reasoner, so the reasoner may be served by any provider
(the embedded one, Ollama, vLLM). The router is handed over by the server once the
stack is built (``bind``), since a provider cannot depend on the API it serves.

The vision stage's report reaches clients as reasoning content when they ask for
reasoning (the Responses API then shows it as a reasoning item and
``response.reasoning_text.delta`` events); the server asks for it on every
Responses request to a composed model.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from llama_stack_api import (
    InferenceProvider,
    Model,
    ModelsProtocolPrivate,
    ModelType,
    OpenAIChatCompletionChunk,
    OpenAIChatCompletionChunkWithReasoning,
    OpenAIChatCompletionRequestWithExtraBody,
    OpenAIChatCompletionWithReasoning,
)

from herd.errors import ConfigError, InvalidRequest, ModelNotAvailable
from herd.providers.serving import require_served
from herd.providers.vision import build_stage
from herd.providers.vision.base import VisionReport, VisionStage

from . import images
from .config import ComposeConfig, ComposedModel


class ComposedInference(InferenceProvider, ModelsProtocolPrivate):
    __provider_id__: str

    def __init__(self, config: ComposeConfig) -> None:
        self.config = config
        self.models = {m.id: m for m in config.models}
        self.stages: dict[str, VisionStage] = {}
        self.router: Any = None

    def bind(self, inference_router: Any) -> None:
        self.router = inference_router

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def should_refresh_models(self) -> bool:
        return False

    async def list_models(self) -> list[Model] | None:
        return [
            Model(
                identifier=m.id,
                provider_resource_id=m.id,
                provider_id=self.__provider_id__,
                model_type=ModelType.llm,
                metadata={
                    "description": m.description or f"{m.vision.kind} vision stage, then {m.reasoner}",
                    "vision_stage": m.vision.kind,
                    "sees_images": m.vision.kind != "ocr",
                    "reasoner": m.reasoner,
                    "capabilities": ["chat", "tools", "images", "video"],
                },
            )
            for m in self.models.values()
        ]

    async def register_model(self, model: Model) -> Model:
        return require_served(model, self.models, "compose")

    async def unregister_model(self, model_id: str) -> None:
        return None

    # -- the composition -------------------------------------------------------

    def _stage(self, composed: ComposedModel) -> VisionStage:
        if composed.id not in self.stages:
            self.stages[composed.id] = build_stage(composed.vision)
        return self.stages[composed.id]

    async def _rewrite(
        self, params: OpenAIChatCompletionRequestWithExtraBody
    ) -> tuple[OpenAIChatCompletionRequestWithExtraBody, list[VisionReport], float]:
        composed = self.models.get(params.model)
        if composed is None:
            raise ModelNotAvailable(f"no composed model '{params.model}'; known: {', '.join(self.models)}")
        if self.router is None:
            raise ConfigError("the compose provider was not bound to the inference router; start it with `herd run`")
        body = params.model_dump(exclude_none=True)
        messages = body["messages"]
        reports = []
        started = time.perf_counter()
        for turn in images.image_turns(messages):
            inputs = await asyncio.to_thread(images.load_inputs, turn.urls, composed.vision.video_frames)
            question = turn.question or "Describe what the images show."
            report = await self._stage(composed).describe(inputs, question)
            messages[turn.index] = images.replace_images(messages[turn.index], report)
            reports.append(report)
        body["model"] = composed.reasoner
        rewritten = OpenAIChatCompletionRequestWithExtraBody.model_validate(body)
        return rewritten, reports, time.perf_counter() - started

    async def openai_chat_completion(self, params: OpenAIChatCompletionRequestWithExtraBody) -> Any:
        rewritten, _, _ = await self._rewrite(params)
        return await self.router.openai_chat_completion(rewritten)

    async def openai_chat_completions_with_reasoning(self, params: OpenAIChatCompletionRequestWithExtraBody) -> Any:
        rewritten, reports, seconds = await self._rewrite(params)
        rewritten.reasoning_effort = None
        result = await self.router.openai_chat_completion(rewritten)
        steps = _steps_text(reports, seconds)
        if not params.stream:
            return OpenAIChatCompletionWithReasoning(completion=result, reasoning_content=steps or None)
        return _with_leading_reasoning(result, steps)

    async def openai_completion(self, params: Any) -> Any:
        raise InvalidRequest(f"'{params.model}' is a composed chat model; use /v1/chat/completions or /v1/responses")

    async def openai_embeddings(self, params: Any) -> Any:
        raise InvalidRequest(f"'{params.model}' is a composed chat model; it makes no embeddings")


def _steps_text(reports: list[VisionReport], seconds: float) -> str:
    if not reports:
        return ""
    lines = [f"Vision stage ({seconds:.1f} s):"]
    for report in reports:
        lines.append(images.describe_report(report))
    return "\n".join(lines)


async def _with_leading_reasoning(stream: AsyncIterator[Any], steps: str) -> AsyncIterator[Any]:
    first = True
    async for chunk in stream:
        if first and steps:
            lead = OpenAIChatCompletionChunk.model_validate(
                {
                    "id": chunk.id,
                    "created": chunk.created,
                    "model": chunk.model,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": None}],
                }
            )
            yield OpenAIChatCompletionChunkWithReasoning(chunk=lead, reasoning_content=steps)
        first = False
        yield OpenAIChatCompletionChunkWithReasoning(chunk=chunk, reasoning_content=None)
