"""Images of a chat request as the base64 data URLs that Ollama's OpenAI-compatible chat decodes.

Ollama reads ``image_url`` parts only as data URLs (its native ``/api/chat`` takes base64
too), so an http(s) URL is fetched here, with a timeout and a size cap, and inlined.
llama-stack's own inlining (``download_images``) is off for this provider: it fetched any
URL containing "http" with no status check or cap, and a failed fetch surfaced as
"cannot reach Ollama". Anything else (a file path, ``file://``) is refused: the server
does not read its own disk for a client.
"""

from typing import Any

import httpx

from herd.errors import InvalidRequest, TooLarge
from herd.providers.vision.sources import data_url, load_url, sniff_mime

FETCH_TIMEOUT_SECONDS = 30.0
MiB = 2**20


def image_parts(messages: list[Any]) -> list[Any]:
    """The ``image_url`` parts of the messages (llama-stack's pydantic parts), in order."""
    parts: list[Any] = []
    for message in messages:
        content = getattr(message, "content", None)
        if isinstance(content, list):
            parts.extend(p for p in content if getattr(p, "type", None) == "image_url" and p.image_url)
    return parts


async def inline(parts: list[Any], max_bytes: int, transport: httpx.AsyncBaseTransport | None = None) -> None:
    """Turn every part's URL into a data URL, in place; 400 for one that cannot be read, 413 past ``max_bytes``."""
    for number, part in enumerate(parts, start=1):
        url = str(part.image_url.url)
        if url.startswith("data:"):
            load_url(url)  # a 400 that says what is wrong with it, rather than Ollama's "invalid image input"
        elif url.startswith(("http://", "https://")):
            part.image_url.url = await fetch(url, max_bytes, transport)
        else:
            raise InvalidRequest(
                f"image {number} is neither a data: URL nor an http(s) URL ({url[:40]!r}); this server reads no "
                "local files for a client: send the image as data:image/png;base64,... or an http(s) URL"
            )


async def fetch(url: str, max_bytes: int, transport: httpx.AsyncBaseTransport | None = None) -> str:
    """The image at ``url`` as a data URL."""
    hint = "check the address, or send the image as a data: URL"
    client = httpx.AsyncClient(transport=transport, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
    try:
        async with client, client.stream("GET", url) as reply:
            if reply.status_code >= 400:
                raise InvalidRequest(f"could not fetch image {url}: it answered HTTP {reply.status_code}; {hint}")
            data = await _read_capped(reply, url, max_bytes)
    except httpx.HTTPError as exc:
        what = f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise InvalidRequest(f"could not fetch image {url} ({what}); {hint}") from exc
    mime = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    if not mime.startswith("image/"):
        mime = sniff_mime(data)
    if not mime.startswith("image/"):
        raise InvalidRequest(f"{url} is not an image (content-type {mime or 'none'}); {hint}")
    return data_url(data, mime)


async def _read_capped(reply: httpx.Response, url: str, max_bytes: int) -> bytes:
    too_large = TooLarge(
        f"the image at {url} is over {max_bytes / MiB:.1f} MiB, the limit for a fetched image "
        "(resize it, or raise max_image_url_bytes in the Ollama provider's config)"
    )
    if int(reply.headers.get("content-length") or 0) > max_bytes:
        raise too_large
    data = bytearray()
    async for chunk in reply.aiter_bytes():
        data += chunk
        if len(data) > max_bytes:
            raise too_large
    return bytes(data)
