"""OpenAI-shaped messages to a prompt through the model's own chat template, images decoded with PIL."""

import base64
import binascii
import io
from typing import Any

from herd.errors import InvalidRequest

from .loader import Loaded


def _image(url: str) -> Any:
    from PIL import Image

    if not url.startswith("data:") or ";base64," not in url:
        raise InvalidRequest(
            "images must be sent inline as data: URLs (data:image/png;base64,...); this provider fetches nothing"
        )
    try:
        raw = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (binascii.Error, ValueError, OSError) as exc:
        raise InvalidRequest(f"an image_url could not be decoded as an image: {exc}") from exc
    return image.convert("RGB")


def _content(content: Any, images: list[Any]) -> Any:
    """Message content as the template wants it: a string, or parts with ``{"type": "image"}`` placeholders."""
    if not isinstance(content, list):
        return content or ""
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            url = part["image_url"]["url"] if isinstance(part.get("image_url"), dict) else part.get("image_url")
            images.append(_image(str(url)))
            parts.append({"type": "image"})
        else:
            raise InvalidRequest(f"message content of type {kind!r} is not supported; send text or image_url parts")
    if not images:
        return "".join(p["text"] for p in parts)
    return parts


def render_chat(
    loaded: Loaded, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> tuple[str, list[Any]]:
    """The prompt text (special tokens included) and the images it refers to, in order."""
    images: list[Any] = []
    shaped = []
    for message in messages:
        message = dict(message)
        message["content"] = _content(message.get("content"), images)
        if message.get("role") == "developer":
            message["role"] = "system"
        shaped.append(message)
    if images and not loaded.is_vision:
        raise InvalidRequest(f"model '{loaded.spec.id}' reads no images; send them to a vision model")
    owner = (
        loaded.processor if loaded.is_vision and getattr(loaded.processor, "chat_template", None) else loaded.tokenizer
    )
    if not getattr(owner, "chat_template", None):
        raise InvalidRequest(f"model '{loaded.spec.id}' has no chat template in its tokenizer config; use completions")
    kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True}
    if tools:
        kwargs["tools"] = tools
    text = owner.apply_chat_template(shaped, **kwargs)
    return str(text), images


def encode(loaded: Loaded, text: str, images: list[Any]) -> dict[str, Any]:
    """Model inputs for one prompt (batch of one, on CPU): ``input_ids`` and, with images, the vision tensors."""
    if images:
        # The prompt already carries <|begin_of_text|>: the processor must not add another.
        inputs = loaded.processor(images=[images], text=[text], add_special_tokens=False, return_tensors="pt")
        return dict(inputs)
    ids = loaded.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    return {"input_ids": ids}


def encode_completion(loaded: Loaded, prompt: str) -> dict[str, Any]:
    """A raw completion prompt: the begin-of-text token is added, as a completions endpoint does."""
    ids = loaded.tokenizer(prompt, add_special_tokens=True, return_tensors="pt")["input_ids"]
    return {"input_ids": ids}
