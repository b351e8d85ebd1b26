"""Configuration of the CUDA (transformers) inference provider. Imports no torch."""

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LocalModel(BaseModel):
    """One model folder as `save_pretrained` writes it (config, weights, tokenizer, processor for vision)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="The id clients name (served as `<provider_id>/<id>`).")
    path: str = Field(min_length=1, description="Local folder of the model; nothing is fetched from a hub.")
    kind: Literal["text", "vision", "guard"] = Field(
        default="text",
        description="`text` (LlamaForCausalLM), `vision` (MllamaForConditionalGeneration, images through its "
        "processor), or `guard` (Llama Guard 3 1B or 11B-Vision, for the shields provider).",
    )
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        default="auto", description="`auto`: bf16 on a GPU, fp32 on CPU."
    )
    device: Literal["auto", "cuda", "cpu"] = Field(default="auto", description="`auto`: CUDA when present, else CPU.")
    quantization: Literal["none", "4bit", "8bit"] = Field(
        default="none", description="Load weights quantised by bitsandbytes (GPU only; install bitsandbytes)."
    )


class TransformersInferenceConfig(BaseModel):
    """Serves local Hugging Face model folders in-process, decoding concurrent requests in batches."""

    model_config = ConfigDict(extra="forbid")

    models: list[LocalModel] = Field(min_length=1, description="The models this provider serves.")
    max_batch: int = Field(default=8, ge=1, le=256, description="Sequences decoded together in one forward pass.")
    max_queue: int = Field(
        default=32, ge=0, description="Requests that may wait for a place in the batch; past this the answer is 503."
    )
    max_new_tokens: int = Field(
        default=2048, ge=1, description="Cap on `max_tokens` (and the default when a request sets none)."
    )
    preload: bool = Field(default=True, description="Load every model before the server starts answering.")
    tool_prompt: Literal["herd", "template"] = Field(
        default="herd",
        description="With tool_choice auto: `herd`, Herd's tool instructions in the system prompt (as the embedded "
        "provider), or `template`, the tools handed to the model's own chat template (Llama 3.2's format).",
    )
    drop_guesses: bool = Field(
        default=True, description="With tool_choice auto, drop invented arguments and calls (as the embedded provider)."
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> "TransformersInferenceConfig":
        ids = [m.id for m in self.models]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"model ids must be unique; repeated: {', '.join(repeated)}")
        return self

    @classmethod
    def sample_run_config(cls, **kwargs: Any) -> dict[str, Any]:
        path = kwargs.get("path", str(Path("~/.herd/hf/Llama-3.2-1B-Instruct").expanduser()))
        return {
            "models": [{"id": kwargs.get("id", "llama-3.2-1b-instruct"), "path": path, "kind": "text"}],
            "max_batch": kwargs.get("max_batch", 8),
            "max_queue": kwargs.get("max_queue", 32),
        }
