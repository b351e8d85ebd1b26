"""``herd.limits``: how many images a request may carry, how large each, and how many tokens it may ask for.

Checked on chat, completion and Responses requests before they reach a model; each
refusal says which limit and how to get under it. (The body-size cap is ``--max-request-bytes``;
a prompt beyond the context window is the model provider's to refuse.)
"""

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from herd.errors import InvalidRequest, TooLarge

MiB = 2**20
TOKEN_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


class RequestLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_images: int = Field(default=8, ge=0, description="Images in one request.")
    max_image_bytes: int = Field(default=20 * MiB, ge=1024, description="Size of one inline (data: URL) image.")
    max_tokens: int | None = Field(default=None, ge=1, description="Largest max_tokens a request may ask for.")


def _images(value: Any) -> Iterator[Any]:
    """Every image reference in a request's messages or Responses input, wherever it nests."""
    if isinstance(value, list):
        for item in value:
            yield from _images(item)
    elif isinstance(value, dict):
        kind = value.get("type")
        if kind == "image_url":
            url = value.get("image_url")
            yield url.get("url") if isinstance(url, dict) else url
        elif kind == "input_image":
            yield value.get("image_url") or value.get("file_id")
        else:
            for key in ("content", "input", "messages"):
                if key in value:
                    yield from _images(value[key])


def _data_bytes(url: Any) -> int:
    if not isinstance(url, str) or not url.startswith("data:"):
        return 0
    encoded = url.partition(",")[2]
    return len(encoded) * 3 // 4


def check(body: dict[str, Any], limits: RequestLimits) -> None:
    images = list(_images([body.get("messages"), body.get("input")]))
    if len(images) > limits.max_images:
        raise TooLarge(
            f"the request carries {len(images)} images; this server takes at most {limits.max_images} a request "
            "(send fewer, or raise herd.limits.max_images in the run config)"
        )
    for number, url in enumerate(images, 1):
        size = _data_bytes(url)
        if size > limits.max_image_bytes:
            raise TooLarge(
                f"image {number} is {size / MiB:.1f} MiB; the limit is {limits.max_image_bytes / MiB:.1f} MiB an image "
                "(resize or recompress it)"
            )
    if limits.max_tokens is None:
        return
    for field in TOKEN_FIELDS:
        asked = body.get(field)
        if isinstance(asked, int) and not isinstance(asked, bool) and asked > limits.max_tokens:
            raise InvalidRequest(
                f"{field} is {asked}; this server allows at most {limits.max_tokens} (ask for fewer tokens)"
            )
