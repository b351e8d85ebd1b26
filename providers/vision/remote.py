"""A vision model behind an OpenAI-compatible chat endpoint (vLLM, llama.cpp, Ollama's /v1, herd's CUDA backend)."""

from typing import Any

import httpx

from .base import ImageInput, VisionReport, require_images
from .config import VisionStageConfig
from .remote_errors import endpoint_error, reply_error
from .sources import data_url

SYSTEM_PROMPT = (
    "You are the eyes of an assistant that cannot see images. Another model will answer the user's question "
    "from your words alone. Describe each image, then extract exactly what the question needs: every "
    "relevant piece of text verbatim, numbers, labels, axis titles, chart and table values, colours, counts "
    "and positions. Refer to images by the names given. Report only what you see; do not answer the "
    "question beyond it, and say plainly when something is unreadable or absent."
)


def request_body(model: str, images: list[ImageInput], question: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": f"The user's question: {question}"}]
    for index, image in enumerate(images, start=1):
        content.append({"type": "text", "text": f"{image.label(index)}:"})
        content.append({"type": "image_url", "image_url": {"url": data_url(image.data, image.mime)}})
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]
    return {"model": model, "messages": messages, "temperature": 0, "stream": False}


class OpenAIVisionStage:
    def __init__(self, config: VisionStageConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not config.model:
            raise ValueError("an OpenAI-compatible vision stage needs config.model")
        self.config = config
        self.model = config.model
        self.name = f"{config.kind}:{config.model}"
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.config.api_key.get_secret_value()}"} if self.config.api_key else {}
        return httpx.AsyncClient(transport=self._transport, timeout=self.config.timeout_seconds, headers=headers)

    async def describe(self, images: list[ImageInput], question: str) -> VisionReport:
        require_images(images)
        url = f"{self.config.endpoint}/chat/completions"
        try:
            async with self._client() as client:
                reply = await client.post(url, json=request_body(self.model, images, question))
        except httpx.HTTPError as exc:
            raise endpoint_error(exc, self.config) from exc
        if reply.status_code >= 400:
            raise reply_error(reply, self.config)
        return VisionReport(text=_content(reply, self.config), stage=self.name, sees_images=True, notes=[])


def _content(reply: httpx.Response, config: VisionStageConfig) -> str:
    try:
        text = reply.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise reply_error(reply, config, f"answered without a chat completion ({exc!r})") from exc
    if not isinstance(text, str) or not text.strip():
        raise reply_error(reply, config, "answered with an empty description")
    return text.strip()
