"""Configuration of the vision stage: which model turns images into text for the text model."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

OLLAMA_URL = "http://localhost:11434/v1"


class VisionStageConfig(BaseModel):
    """OCR (embedded, reads text and metadata only) or a vision model behind an OpenAI-compatible endpoint."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["ocr", "openai", "ollama"] = Field(
        default="ocr",
        description="`ocr`: embedded OCR and image metadata, no model sees the picture. `openai`: any "
        "OpenAI-compatible chat endpoint serving a vision model (vLLM, llama.cpp, herd's CUDA backend). "
        "`ollama`: Ollama's OpenAI-compatible `/v1` endpoint.",
    )
    url: str | None = Field(
        default=None,
        description=f"Base URL of the endpoint, ending in `/v1`. Required for `openai`; `ollama` defaults to {OLLAMA_URL}.",
    )
    model: str | None = Field(
        default=None, description="Vision model served there, e.g. `llama3.2-vision`. Required for openai/ollama."
    )
    api_key: SecretStr | None = Field(default=None, description="Bearer key for the endpoint, if it needs one.")
    timeout_seconds: float = Field(default=120, gt=0, description="Longest wait for one answer from the endpoint.")
    video_frames: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Frames sampled evenly from a video before the stage sees it (the Llama 3 video adapter used 64).",
    )

    @model_validator(mode="after")
    def _endpoint_complete(self) -> "VisionStageConfig":
        if self.kind == "ocr":
            return self
        if not self.model:
            raise ValueError(f"vision kind '{self.kind}' needs `model`, the vision model to ask (e.g. llama3.2-vision)")
        if self.kind == "openai" and not self.url:
            raise ValueError("vision kind 'openai' needs `url`, the endpoint's base URL (e.g. http://host:8000/v1)")
        return self

    @property
    def endpoint(self) -> str:
        url = self.url or (OLLAMA_URL if self.kind == "ollama" else "")
        return url.rstrip("/")
