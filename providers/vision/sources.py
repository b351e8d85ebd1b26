"""Where image bytes come from: data URLs, files and http(s) URLs."""

import base64
import binascii
import mimetypes
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlparse

import httpx

from herd.errors import InvalidRequest

FETCH_TIMEOUT_SECONDS = 30.0
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
    path = Path(unquote(urlparse(url).path) if url.startswith("file://") else url)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"could not read image file {path}: {exc.strerror or exc}; check the path") from exc
    return data, mimetypes.guess_type(path.name)[0] or sniff_mime(data), path.name


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
    try:
        reply = httpx.get(url, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
        reply.raise_for_status()
    except httpx.HTTPError as exc:
        raise InvalidRequest(
            f"could not fetch image {url}: {exc}; check the address, or send the image as a data: URL"
        ) from exc
    mime = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    if not mime or mime in ("application/octet-stream", "binary/octet-stream"):
        mime = sniff_mime(reply.content)
    return reply.content, mime, Path(urlparse(url).path).name
