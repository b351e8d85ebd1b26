"""Configuration of the composed-model provider."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from herd.providers.vision.config import VisionStageConfig


class ComposedModel(BaseModel):
    """One virtual model: a vision stage in front of a text model."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The model id clients send, e.g. `vision-qwen`.", min_length=1)
    reasoner: str = Field(
        description="The registered text model that reasons and calls tools, e.g. `herd/qwen2.5-coder-1.5b-instruct`."
    )
    vision: VisionStageConfig = Field(
        default_factory=VisionStageConfig,
        description="The stage that reads images: `ocr` (built in, reads text and metadata only), or a "
        "vision model behind an OpenAI-compatible endpoint (`openai`, `ollama`).",
    )
    description: str = ""


class ComposeConfig(BaseModel):
    """Virtual models that compose a vision stage with a lightweight text model."""

    model_config = ConfigDict(extra="forbid")

    models: list[ComposedModel] = Field(default_factory=list, description="The composed models this provider serves.")

    @classmethod
    def sample_run_config(cls, **kwargs: Any) -> dict[str, Any]:
        reasoner = kwargs.get("reasoner", "herd/qwen2.5-coder-1.5b-instruct")
        return {"models": [{"id": "vision-composed", "reasoner": reasoner, "vision": {"kind": "ocr"}}]}
