"""Where image bytes come from: data URLs and http(s) URLs (fetched with a size cap).

The server reads these for its clients' requests, so a file path or ``file://`` URL is
refused: a client must not make the server read its own disk. Clients that have a file
send it as a data URL (``data_url``), as the CLI does.
"""

import base64
import binascii
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlparse

import httpx

from herd.errors import InvalidRequest, TooLarge

FETCH_TIMEOUT_SECONDS = 30.0
MAX_FETCH_BYTES = 20 * 2**20
_MAGIC = [
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
    (b"\x1aE\xdf\xa3", "video/webm"),
]


def sniff_mime(data: bytes, fallback: str = "application/octet-stream") -> str:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"AVI "):
        return "image/webp" if data[8:12] == b"WEBP" else "video/x-msvideo"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return fallback


def load_url(url: str) -> tuple[bytes, str, str]:
    """Returns (data, mime, a default name)."""
    if url.startswith("data:"):
        return (*_decode_data_url(url), "")
    if url.startswith(("http://", "https://")):
        return _fetch(url)
    raise InvalidRequest(
        f"an image is neither a data: URL nor an http(s) URL ({url[:40]!r}); this server reads no local files "
        "for a client: send the image as data:image/png;base64,... or an http(s) URL"
    )


def data_url(data: bytes, mime: str | None = None) -> str:
    """``data`` as a base64 data URL; without ``mime``, the type its first bytes show (PNG if none)."""
    return f"data:{mime or sniff_mime(data, 'image/png')};base64,{base64.b64encode(data).decode('ascii')}"


def _decode_data_url(url: str) -> tuple[bytes, str]:
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise InvalidRequest("a data: URL has no ',' before its payload; write it as data:<mime>;base64,<data>")
    mime, *params = header.split(";")
    if "base64" not in params:
        data = unquote_to_bytes(payload)
    else:
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequest(f"a data: URL ({mime or 'no type'}) holds invalid base64: {exc}") from exc
    return data, mime.strip().lower() or sniff_mime(data)


def _fetch(url: str) -> tuple[bytes, str, str]:
    hint = "check the address, or send the image as a data: URL"
    try:
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True) as reply:
            reply.raise_for_status()
            if int(reply.headers.get("content-length") or 0) > MAX_FETCH_BYTES:
                raise _too_large(url)
            data = bytearray()
            for chunk in reply.iter_bytes():
                data += chunk
                if len(data) > MAX_FETCH_BYTES:
                    raise _too_large(url)
    except httpx.HTTPError as exc:
        raise InvalidRequest(f"could not fetch image {url}: {exc}; {hint}") from exc
    mime = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    if not mime or mime in ("application/octet-stream", "binary/octet-stream"):
        mime = sniff_mime(bytes(data))
    return bytes(data), mime, Path(urlparse(url).path).name


def _too_large(url: str) -> TooLarge:
    return TooLarge(f"the image at {url} is over {MAX_FETCH_BYTES // 2**20} MiB, the limit for a fetched image")
