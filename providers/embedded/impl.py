"""The embedded provider's llama-stack face: OpenAI-shaped chat, completions, embeddings."""

import base64
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
from llama_stack_api import (
    InferenceProvider,
    Model,
    ModelsProtocolPrivate,
    ModelType,
    OpenAIChatCompletion,
    OpenAIChatCompletionChunk,
    OpenAIChatCompletionRequestWithExtraBody,
    OpenAICompletion,
    OpenAICompletionRequestWithExtraBody,
    OpenAIEmbeddingData,
    OpenAIEmbeddingsRequestWithExtraBody,
    OpenAIEmbeddingsResponse,
    OpenAIEmbeddingUsage,
)

from herd.errors import InvalidRequest
from herd.providers import toolcalls
from herd.providers.serving import completion_chunk, converted, require_served

from .chat_tools import ToolPlan
from .config import EmbeddedInferenceConfig
from .pool import ModelPool

Chunk = dict[str, Any]
Shape = Callable[[AsyncIterator[Chunk]], AsyncIterator[Any]]  # the engine's chunks → what the client gets


class EmbeddedInference(InferenceProvider, ModelsProtocolPrivate):
    __provider_id__: str

    def __init__(self, config: EmbeddedInferenceConfig) -> None:
        self.config = config
        self.pool = ModelPool(config)

    async def initialize(self) -> None:
        # Preloads finish before the server starts answering: xllamacpp holds the GIL
        # while it loads a model, so a load in the background would freeze every
        # request (health checks included) for seconds after the server looked ready.
        for model_id in self.config.preload:
            self.pool.start_loading(model_id).result()

    async def shutdown(self) -> None:
        self.pool.shutdown()

    # -- models ------------------------------------------------------------

    async def should_refresh_models(self) -> bool:
        return False

    async def list_models(self) -> list[Model] | None:
        models = []
        for entry in self.pool.entries.values():
            metadata: dict[str, Any] = {
                "description": entry.description,
                "context_length": min(entry.context_length, self.config.context_length),
                "capabilities": list(entry.capabilities),
            }
            if entry.embedding_dimension:
                metadata["embedding_dimension"] = entry.embedding_dimension
            models.append(
                Model(
                    identifier=entry.id,
                    provider_resource_id=entry.id,
                    provider_id=self.__provider_id__,
                    model_type=ModelType.embedding if entry.model_type == "embedding" else ModelType.llm,
                    metadata=metadata,
                )
            )
        return models

    async def register_model(self, model: Model) -> Model:
        return require_served(model, self.pool.entries, "embedded")

    async def unregister_model(self, model_id: str) -> None:
        return None

    # -- chat ----------------------------------------------------------------

    async def openai_chat_completion(
        self, params: OpenAIChatCompletionRequestWithExtraBody
    ) -> OpenAIChatCompletion | AsyncIterator[OpenAIChatCompletionChunk]:
        model_id = params.model
        body = params.model_dump(exclude_none=True)
        for key in ("model", "stream", "parallel_tool_calls"):
            body.pop(key, None)
        if body.get("n", 1) != 1:
            raise InvalidRequest("the embedded provider returns one choice per request; send n=1 and repeat it")
        if not params.stream:
            return OpenAIChatCompletion.model_validate(await self._chat_whole(model_id, body))
        include_usage = bool((params.stream_options or {}).get("include_usage"))

        def start(engine: Any) -> tuple[dict[str, Any], Shape]:
            plan = self._plan(engine, body)
            if not plan.use_tools:
                return plan.body, lambda chunks: converted(
                    chunks, include_usage, OpenAIChatCompletionChunk.model_validate
                )
            retry = None if plan.forced else self._retry(engine, plan)

            async def shape(chunks: AsyncIterator[Chunk]) -> AsyncIterator[Any]:
                async for chunk in toolcalls.normalise_stream(
                    chunks, plan.tools, plan.reader(), retry, include_usage, plan.history
                ):
                    yield OpenAIChatCompletionChunk.model_validate(chunk)

            return plan.body, shape

        return await self._stream(model_id, "chat", start)

    def _plan(self, engine: Any, body: dict[str, Any]) -> ToolPlan:
        config = self.config
        return ToolPlan(
            body, engine.template_supports_tools, config.normalise_tool_calls, config.tool_prompt, config.drop_guesses
        )

    def _retry(self, engine: Any, plan: ToolPlan) -> toolcalls.Retry:
        async def retry(tool_choice: Any) -> dict[str, Any]:
            result: dict[str, Any] = await self.pool.run(engine.chat, plan.retry_body(tool_choice))
            return result

        return retry

    async def _chat_whole(self, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """One complete chat reply, tool calls read out of it (and a bad one repaired)."""
        async with self.pool.admit(model_id) as engine:
            plan = self._plan(engine, body)
            engine.check_max_tokens(plan.body)
            result = await self.pool.run(engine.chat, plan.body)
            return await plan.finish(result, self._retry(engine, plan))

    async def _stream(
        self, model_id: str, kind: str, start: Callable[[Any], tuple[dict[str, Any], Shape]]
    ) -> AsyncIterator[Any]:
        """Stream from the engine; ``start(engine)`` gives the request body and how to shape the chunks."""
        release = self.pool.acquire(model_id)
        try:
            engine = await self.pool.engine(model_id)
            body, shape = start(engine)
            engine.check_max_tokens(body)
            chunks = await self.pool.stream(lambda on_chunk: engine.stream(kind, body, on_chunk))
        except BaseException:
            release()
            raise

        async def shaped() -> AsyncIterator[Any]:
            out = shape(chunks)
            try:
                async for item in out:
                    yield item
            finally:
                await out.aclose()  # type: ignore[attr-defined]  # an async generator
                await chunks.aclose()  # type: ignore[attr-defined]  # stops decoding if the client left
                release()

        stream = shaped()
        weakref.finalize(stream, release)  # a stream nobody iterates still frees its slot
        return stream

    async def openai_chat_completions_with_reasoning(self, params: OpenAIChatCompletionRequestWithExtraBody) -> Any:
        raise InvalidRequest(f"model '{params.model}' does not produce separate reasoning; drop the `reasoning` option")

    # -- completions ---------------------------------------------------------

    async def openai_completion(
        self, params: OpenAICompletionRequestWithExtraBody
    ) -> OpenAICompletion | AsyncIterator[OpenAICompletion]:
        model_id = params.model
        body = params.model_dump(exclude_none=True)
        for key in ("model", "stream"):
            body.pop(key, None)
        if params.stream:
            include_usage = bool((params.stream_options or {}).get("include_usage"))
            return await self._stream(
                model_id,
                "completion",
                lambda _engine: (body, lambda chunks: converted(chunks, include_usage, completion_chunk)),
            )
        async with self.pool.admit(model_id) as engine:
            engine.check_max_tokens(body)
            result = await self.pool.run(engine.complete, body)
        return OpenAICompletion.model_validate(result)

    # -- embeddings ----------------------------------------------------------

    async def openai_embeddings(self, params: OpenAIEmbeddingsRequestWithExtraBody) -> OpenAIEmbeddingsResponse:
        texts = [params.input] if isinstance(params.input, str) else params.input
        if not texts or not all(isinstance(t, str) for t in texts):
            raise InvalidRequest(
                "`input` must be a string or a non-empty list of strings (token arrays are not accepted)"
            )
        async with self.pool.admit(params.model) as engine:
            if not hasattr(engine, "embed"):
                raise InvalidRequest(
                    f"model '{params.model}' is a chat model; use an embedding model such as all-minilm-l6-v2"
                )
            dims = engine.entry.embedding_dimension
            if params.dimensions is not None and params.dimensions != dims:
                raise InvalidRequest(
                    f"model '{params.model}' makes {dims}-dimension vectors; omit `dimensions` or set it to {dims}"
                )
            vectors, tokens = await self.pool.run(engine.embed, texts)
        data = [
            OpenAIEmbeddingData(embedding=_encode(v, params.encoding_format), index=i) for i, v in enumerate(vectors)
        ]
        return OpenAIEmbeddingsResponse(
            data=data,
            model=params.model,
            usage=OpenAIEmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
        )


def _encode(vector: np.ndarray, encoding_format: str | None) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.astype(float).tolist()
