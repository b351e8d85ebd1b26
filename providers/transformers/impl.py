"""The transformers provider's llama-stack face: OpenAI-shaped chat and completions over the batchers.

Tools work as in the embedded provider (the same ``ToolPlan``): a forced call
(``tool_choice`` required or named) is decoded constrained to the call's JSON schema;
with ``auto`` the calls a model writes are read, checked and repaired (``toolcalls``).
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

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
    OpenAIEmbeddingsRequestWithExtraBody,
    OpenAIEmbeddingsResponse,
)

from herd.errors import InvalidRequest, ModelNotAvailable
from herd.providers import toolcalls
from herd.providers.embedded.chat_tools import ToolPlan
from herd.providers.serving import completion_chunk, converted, require_served

from . import requests
from .batcher import Batcher
from .config import TransformersInferenceConfig
from .decode import Job
from .guardfsm import GuardState, offered_codes
from .loader import Loaded, load
from .prompts import encode, encode_completion, render_chat

Chunk = dict[str, Any]


class TransformersInference(InferenceProvider, ModelsProtocolPrivate):
    __provider_id__: str

    def __init__(self, config: TransformersInferenceConfig) -> None:
        self.config = config
        self.specs = {m.id: m for m in config.models}
        self.models: dict[str, tuple[Loaded, Batcher]] = {}
        self.loading = asyncio.Lock()

    async def initialize(self) -> None:
        if self.config.preload:
            for model_id in self.specs:
                await self._model(model_id)

    async def shutdown(self) -> None:
        for _, batcher in self.models.values():
            batcher.close()

    async def _model(self, model_id: str) -> tuple[Loaded, Batcher]:
        if model_id not in self.specs:
            raise ModelNotAvailable(
                f"model '{model_id}' is not served by the transformers provider; it serves {', '.join(self.specs)}"
            )
        async with self.loading:
            if model_id not in self.models:
                loaded = await asyncio.to_thread(load, self.specs[model_id])
                self.models[model_id] = (loaded, Batcher(loaded, self.config.max_batch, self.config.max_queue))
        return self.models[model_id]

    # -- models ------------------------------------------------------------

    async def should_refresh_models(self) -> bool:
        return False

    async def list_models(self) -> list[Model] | None:
        out = []
        for spec in self.config.models:
            capabilities = ["chat", "completions", "tools", "json_schema"] + (
                ["vision"] if spec.kind == "vision" else []
            )
            metadata: dict[str, Any] = {"description": f"{spec.kind} model from {spec.path}", "kind": spec.kind}
            metadata["capabilities"] = capabilities
            if spec.id in self.models:
                metadata["context_length"] = self.models[spec.id][0].context_length
            out.append(
                Model(
                    identifier=spec.id,
                    provider_resource_id=spec.id,
                    provider_id=self.__provider_id__,
                    model_type=ModelType.llm,
                    metadata=metadata,
                )
            )
        return out

    async def register_model(self, model: Model) -> Model:
        return require_served(model, self.specs, "transformers")

    async def unregister_model(self, model_id: str) -> None:
        return None

    # -- chat ----------------------------------------------------------------

    async def openai_chat_completion(
        self, params: OpenAIChatCompletionRequestWithExtraBody
    ) -> OpenAIChatCompletion | AsyncIterator[OpenAIChatCompletionChunk]:
        loaded, batcher = await self._model(params.model)
        body = params.model_dump(exclude_none=True)
        for key in ("model", "stream", "stream_options", "parallel_tool_calls"):
            body.pop(key, None)
        if body.get("n", 1) != 1:
            raise InvalidRequest("the transformers provider returns one choice per request; send n=1 and repeat it")
        native = "tools" in str(loaded.tokenizer.chat_template or "")
        plan = ToolPlan(body, native, True, self.config.tool_prompt, self.config.drop_guesses)
        retry = self._retry(params.model, plan)
        if not params.stream:
            result = await requests.whole(self._job(loaded, plan.body), batcher.submit, params.model, chat=True)
            return OpenAIChatCompletion.model_validate(await plan.finish(result, retry))
        include_usage = bool((params.stream_options or {}).get("include_usage"))
        chunks = await requests.streamed(self._job(loaded, plan.body), batcher.submit, params.model, chat=True)
        if plan.use_tools:
            reader = plan.reader()
            chunks = toolcalls.normalise_stream(
                chunks, plan.tools, reader, None if plan.forced else retry, include_usage, plan.history
            )
        return converted(chunks, include_usage, OpenAIChatCompletionChunk.model_validate)

    def _job(self, loaded: Loaded, body: dict[str, Any]) -> Job:
        text, images = render_chat(loaded, body["messages"], body.get("tools"))
        return self._prompted(loaded, body, text, encode(loaded, text, images))

    def _prompted(self, loaded: Loaded, body: dict[str, Any], text: str, inputs: Any) -> Job:
        """The job for an encoded prompt; a guard model's answer is held to the codes its prompt offers."""
        settings = requests.settings_of(body, self.config.max_new_tokens, loaded, int(inputs["input_ids"].shape[1]))
        if loaded.spec.kind == "guard" and settings.schema is None:
            settings.grammar = GuardState(offered_codes(text))
        return Job(inputs, settings, emit=lambda _event: None)

    def _retry(self, model_id: str, plan: ToolPlan) -> toolcalls.Retry:
        async def retry(tool_choice: Any) -> dict[str, Any]:
            loaded, batcher = await self._model(model_id)
            return await requests.whole(self._job(loaded, plan.retry_body(tool_choice)), batcher.submit, model_id, True)

        return retry

    async def openai_chat_completions_with_reasoning(self, params: OpenAIChatCompletionRequestWithExtraBody) -> Any:
        raise InvalidRequest(f"model '{params.model}' does not produce separate reasoning; drop the `reasoning` option")

    # -- completions ---------------------------------------------------------

    async def openai_completion(
        self, params: OpenAICompletionRequestWithExtraBody
    ) -> OpenAICompletion | AsyncIterator[OpenAICompletion]:
        loaded, batcher = await self._model(params.model)
        if not isinstance(params.prompt, str):
            raise InvalidRequest("`prompt` must be one string for the transformers provider; send one per request")
        body = params.model_dump(exclude_none=True)
        job = self._prompted(loaded, body, params.prompt, encode_completion(loaded, params.prompt))
        if not params.stream:
            return OpenAICompletion.model_validate(await requests.whole(job, batcher.submit, params.model, chat=False))
        include_usage = bool((params.stream_options or {}).get("include_usage"))
        chunks = await requests.streamed(job, batcher.submit, params.model, chat=False)
        return converted(chunks, include_usage, completion_chunk)

    async def openai_embeddings(self, params: OpenAIEmbeddingsRequestWithExtraBody) -> OpenAIEmbeddingsResponse:
        raise InvalidRequest(
            f"the transformers provider serves no embedding models ('{params.model}'); use herd/all-minilm-l6-v2"
        )
