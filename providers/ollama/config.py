"""Configuration of the Ollama provider: llama-stack's own, plus the tool-call normaliser switch."""

from typing import Any

from llama_stack.providers.remote.inference.ollama.config import OllamaImplConfig
from pydantic import ConfigDict, Field


class HerdOllamaConfig(OllamaImplConfig):
    """Chat on a local Ollama server (its OpenAI-compatible ``/v1`` endpoint)."""

    model_config = ConfigDict(extra="forbid")

    normalise_tool_calls: bool = Field(
        default=True,
        description="Read tool calls that a model writes as text (pythonic, JSON, tags, fenced) into `tool_calls`, "
        "check their arguments against the tool's schema and repair a bad call by one retry constrained by "
        "Ollama's JSON-schema output. Off: replies come back as Ollama gives them.",
    )
    drop_guesses: bool = Field(
        default=True,
        description="With tool_choice auto, drop what a small model invents: optional free-text arguments that are "
        "empty or that the conversation never mentions, and calls none of whose values it mentions (then the model "
        "is asked once more, tools off, for its answer). See herd/providers/toolcalls/guesses.py.",
    )

    max_image_url_bytes: int = Field(
        default=20 * 2**20,
        ge=1024,
        description="Largest image Herd fetches for an http(s) image URL in a chat request (413 past it); Ollama "
        "takes only inline images, so Herd fetches them and sends them as data URLs.",
    )

    @classmethod
    def sample_run_config(cls, base_url: str = "http://localhost:11434/v1", **kwargs: Any) -> dict[str, Any]:
        return {"base_url": base_url, "normalise_tool_calls": True}
