"""The ``fetch_page`` tool: one web page as readable text. Not among ``BUILTIN_TOOLS``: Herd is
offline-first, so a deployment has to enable it.

Only http and https; a host that resolves to a loopback, private, link-local or otherwise
non-public address is refused (an SSRF guard), on every redirect too, unless ``allow_private``.
The guard resolves the name itself and httpx resolves it again, so a DNS answer that changes
in between is not caught. Network failures come back as ``ToolOutput(error=True)``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from ..spec import HerdTool, Param, ToolArgumentError, ToolOutput
from .calculator import shown

if TYPE_CHECKING:
    import httpx

TOOL = "fetch_page"
MAX_REDIRECTS = 5
TIMEOUT_S = 10.0
MAX_BYTES = 2_000_000
MAX_CHARS = 200_000
USER_AGENT = "Herd fetch_page/0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml")
BLOCKS = {"p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "ul", "ol", "table", "tr"}
BLOCKS |= {"blockquote", "pre", "dl", "dt", "dd", "figure", "figcaption", "form", "hr", "br", "li"}
LINES = {"li", "br", "tr", "dt", "dd"}
SKIPPED = {"script", "style", "noscript", "template", "svg"}


class Refused(Exception):
    """A URL the guard will not fetch; the message says why."""


class Unreachable(Exception):
    """The page could not be fetched; the message says why."""


class TextExtractor(HTMLParser):
    """Readable text from HTML: the title, headings as '#' lines, paragraphs, list items, <pre> kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.skip = self.pre = 0
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in BLOCKS:
            self.parts.append("\n- " if tag == "li" else "\n")
            self.pre += tag == "pre"
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in LINES:
            pass  # a line break was written at the start tag
        elif tag in BLOCKS or re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n")
            self.pre = max(0, self.pre - (tag == "pre"))

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.in_title:
            self.title += data
        elif self.pre:
            self.parts.append(data.replace("\r\n", "\n"))
        else:
            text = re.sub(r"\s+", " ", data)
            last = self.parts[-1] if self.parts else "\n"
            self.parts.append(text.lstrip() if last.endswith(("\n", " ")) else text)

    def text(self) -> str:
        body = re.sub(r"[ \t]+\n", "\n", "".join(self.parts))
        body = re.sub(r"\n{3,}", "\n\n", body).strip()
        title = " ".join(self.title.split())
        return f"{title}\n\n{body}" if title and body else title or body


def html_to_text(html: str) -> tuple[str, str]:
    """(title, readable text) of an HTML document."""
    parser = TextExtractor()
    parser.feed(html)
    parser.close()
    return " ".join(parser.title.split()), parser.text()


def decode(body: bytes, charset: str | None) -> str:
    declared = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", body[:2048], re.IGNORECASE)
    names = [charset, declared.group(1).decode() if declared else None]
    for name in [n for n in names if n]:
        try:
            return body.decode(name, errors="replace")
        except LookupError:
            continue
    return body.decode("utf-8", errors="replace")


def char_limit(value: Any) -> int:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= MAX_CHARS
    if not ok:
        raise ToolArgumentError(f"{TOOL}: max_chars must be a whole number from 1 to {MAX_CHARS}, not {shown(value)}")
    return int(value)


async def check_target(url: httpx.URL, allow_private: bool) -> None:
    """Refused unless ``url`` is http(s) on a host whose every address is public."""
    if url.scheme not in ("http", "https"):
        raise Refused(
            f"only http and https URLs can be fetched, not {shown(str(url))}; send e.g. https://example.com/page"
        )
    if not url.host:
        raise Refused(f"{shown(str(url))} has no host; send e.g. https://example.com/page")
    if allow_private:
        return
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, url.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise Unreachable(f"cannot resolve the host {url.host}: {err}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise Refused(f"{url.host} resolves to the non-public address {address}; only public sites can be fetched")


async def read_capped(response: httpx.Response) -> tuple[bytes, bool]:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            return b"".join(chunks)[:MAX_BYTES], True
    return b"".join(chunks), False


async def fetch(client: httpx.AsyncClient, url: httpx.URL, allow_private: bool) -> tuple[httpx.Response, bytes, bool]:
    """The final response after at most MAX_REDIRECTS redirects, each target re-checked, and its capped body."""
    for hop in range(MAX_REDIRECTS + 1):
        if hop:
            await check_target(url, allow_private)
        async with client.stream("GET", url) as response:
            location = response.headers.get("location")
            if response.is_redirect and location:
                url = url.join(location)
                continue
            kind = response.headers.get("content-type", "")
            binary = bool(kind) and not is_text(kind) and "content-length" in response.headers
            body, truncated = (b"", False) if binary else await read_capped(response)
            return response, body, truncated
    raise Unreachable(f"more than {MAX_REDIRECTS} redirects")


def is_text(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return (
        kind.startswith("text/") or kind in ("application/json", "application/xml") or kind.endswith(("+json", "+xml"))
    )


async def render(response: httpx.Response, body: bytes, truncated: bool, max_chars: int) -> ToolOutput:
    """What the model reads of a response: HTML as text, text and JSON as they are, others summarised."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    text = decode(body, response.charset_encoding) if not kind or is_text(kind) else ""
    if not kind and "<html" in text[:1000].lower():
        kind = "text/html"
    title = ""
    if kind in HTML_TYPES:
        title, text = await asyncio.to_thread(html_to_text, text)
    elif kind and not is_text(kind):
        size = response.headers.get("content-length") or (f"over {MAX_BYTES}" if truncated else str(len(body)))
        text = f"binary content of type {kind}, {size} bytes"
        truncated = False
    visible, cut = text[:max_chars], truncated or len(text) > max_chars
    if cut:
        whole = "the first 2 MB" if truncated else str(len(text))
        visible += f"\n\n[truncated: showing {len(visible)} characters of {whole}]"
    url, status = str(response.url), response.status_code
    data = {"url": url, "status": status, "content_type": kind, "title": title, "truncated": cut}
    if status >= 400:
        failed = f"{TOOL}: {url} answered HTTP {status} {response.reason_phrase}\n\n{visible}"
        return ToolOutput(text=failed, data=data, error=True)
    return ToolOutput(text=visible, data=data)


def target_url(url: Any) -> httpx.URL:
    import httpx

    try:
        if isinstance(url, str):
            return httpx.URL(url.strip())
    except httpx.InvalidURL as err:
        raise ToolArgumentError(
            f"{TOOL}: {shown(url)} is not a URL ({err}); send e.g. https://example.com/page"
        ) from None
    raise ToolArgumentError(f"{TOOL}: url must be a string such as https://example.com/page, not {shown(url)}")


def make_fetch_tool(transport: httpx.AsyncBaseTransport | None = None, allow_private: bool = False) -> HerdTool:
    """``fetch_page`` sending through ``transport`` (httpx's default when None)."""
    import httpx

    async def run(url: Any, max_chars: Any) -> ToolOutput:
        limit, target = char_limit(max_chars), target_url(url)
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await check_target(target, allow_private)
        except Refused as err:
            raise ToolArgumentError(f"{TOOL}: {err}") from None
        except Unreachable as err:
            return ToolOutput(text=f"{TOOL}: {err}", error=True)
        except TimeoutError:
            return ToolOutput(text=f"{TOOL}: resolving {target.host} took over {TIMEOUT_S:g} s", error=True)
        client = httpx.AsyncClient(transport=transport, timeout=TIMEOUT_S, headers={"user-agent": USER_AGENT})
        try:
            async with asyncio.timeout(TIMEOUT_S), client:
                response, body, truncated = await fetch(client, target, allow_private)
        except (Refused, Unreachable) as err:
            return ToolOutput(text=f"{TOOL}: {err}", error=True)
        except (TimeoutError, httpx.TimeoutException):
            return ToolOutput(text=f"{TOOL}: {target.host} did not answer within {TIMEOUT_S:g} s", error=True)
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            return ToolOutput(
                text=f"{TOOL}: could not fetch {shown(str(target))}: {type(err).__name__}: {err}", error=True
            )
        return await render(response, body, truncated, limit)

    return HerdTool(
        name=TOOL,
        description="Fetch a public web page (http or https) and return its readable text, title first.",
        params=(
            Param("url", "The page's full URL, e.g. https://example.com/page"),
            Param("max_chars", "At most this many characters of text", type="number", required=False, default=20000),
        ),
        run=run,
    )


WEB_FETCH_TOOL = make_fetch_tool()
