"""Configuration of the embedded inference provider."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class EmbeddedInferenceConfig(BaseModel):
    """Runs catalog models in-process: GGUF chat models on llama.cpp, ONNX embedders on onnxruntime."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(
        default_factory=lambda: ["qwen2.5-coder-1.5b-instruct", "all-minilm-l6-v2"],
        min_length=1,
        description="Catalog ids of the models this provider serves (see `herd models list`).",
    )
    preload: list[str] = Field(
        default_factory=list,
        description="Models loaded before the server starts answering. Others load on first use, and the server "
        "pauses while they load (the llama.cpp binding holds the GIL), so list every model you serve.",
    )
    context_length: int = Field(
        default=8192,
        ge=256,
        description="Context window per request slot, capped at each model's own limit. Memory grows with it.",
    )
    parallel: int = Field(default=1, ge=1, le=64, description="Requests one model decodes at once (slots).")
    max_queue: int = Field(
        default=16,
        ge=0,
        description="Requests that may wait for a free slot; past this the server answers 503 at once.",
    )
    max_loaded_models: int = Field(
        default=3,
        ge=1,
        description="Models kept in memory at once; the least recently used idle one is unloaded.",
    )
    threads: int | None = Field(default=None, ge=1, description="CPU threads per model; default: all cores.")
    normalise_tool_calls: bool = Field(
        default=True,
        description="Read tool calls that a model writes as text (pythonic, JSON, tags, fenced) into `tool_calls`, "
        "check their arguments against the tool's schema and repair a bad call by one constrained retry. "
        "Off: tools go to the chat template and the reply comes back as llama.cpp reads it (for comparison).",
    )

    tool_prompt: Literal["herd", "template"] = Field(
        default="herd",
        description="With tool_choice auto, how tools reach the model: `herd`, Herd's instructions in the system "
        "prompt (calls as a JSON array; measured best on small models, see bench/tool_calls.py), or `template`, "
        "the model's own chat template when it has a tool format (e.g. a Llama 3.2 GGUF).",
    )

    drop_guesses: bool = Field(
        default=True,
        description="With tool_choice auto, drop what a small model invents: optional free-text arguments that are "
        "empty or that the conversation never mentions, and calls none of whose values it mentions (then the model "
        "is asked once more, tools off, for its answer). See herd/providers/toolcalls/guesses.py.",
    )

    @model_validator(mode="after")
    def _known_models(self) -> "EmbeddedInferenceConfig":
        from herd.distribution.catalog import get_model

        for model_id in self.models:
            get_model(model_id)  # raises with the list of known models
        stray = [m for m in self.preload if m not in self.models]
        if stray:
            raise ValueError(f"preload names {stray}, which are not in `models`; add them there or drop them")
        return self

    @classmethod
    def sample_run_config(cls, **kwargs: Any) -> dict[str, Any]:
        return {
            "models": kwargs.get("models", ["qwen2.5-coder-1.5b-instruct", "all-minilm-l6-v2"]),
            "preload": kwargs.get("preload", []),
            "context_length": kwargs.get("context_length", 8192),
            "parallel": kwargs.get("parallel", 1),
            "max_queue": kwargs.get("max_queue", 16),
        }
