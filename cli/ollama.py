"""`herd models pull`: a model pulled into Ollama through its ``/api/pull``, with progress.

Ollama streams one JSON object a line: ``{"status": "pulling manifest"}``, then per layer
``{"status": "pulling <digest>", "digest", "total", "completed"}``, then ``success``; an
error, such as an unknown name, is a line ``{"error": "..."}`` (or an error status).
"""

import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import httpx
import typer

from herd.errors import HerdError, ModelNotAvailable, ProviderUnavailable

DEFAULT_URL = "http://localhost:11434"
_TIMEOUT = httpx.Timeout(10.0, read=600.0)  # a large layer may be silent for a while between lines


def pull_events(url: str, name: str, transport: httpx.BaseTransport | None = None) -> Iterator[dict[str, Any]]:
    """Ollama's progress lines, the last one ``success``; a ``HerdError`` saying what to do otherwise."""
    url = url.rstrip("/").removesuffix("/v1")
    try:
        with (
            httpx.Client(base_url=url, transport=transport, timeout=_TIMEOUT) as client,
            client.stream("POST", "/api/pull", json={"model": name, "stream": True}) as reply,
        ):
            if reply.status_code >= 400:
                raise refusal(url, name, _error_text(reply.read()))
            for line in reply.iter_lines():
                event = _event(line, url, name)
                if event is not None:
                    yield event
                    if event.get("status") == "success":
                        return
    except httpx.ConnectError as exc:
        raise ProviderUnavailable(
            f"no Ollama server answers at {url}; start it with `ollama serve` or set OLLAMA_URL (or --url)"
        ) from exc
    except httpx.HTTPError as exc:
        raise broken(url, name, f"{type(exc).__name__}: {exc}") from exc
    raise broken(url, name, "the stream ended before Ollama reported success")


def _event(line: str, url: str, name: str) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise broken(url, name, f"a line that is not JSON: {line[:80]!r}") from exc
    if not isinstance(event, dict):
        raise broken(url, name, f"a line that is not an object: {line[:80]!r}")
    if event.get("error"):
        raise refusal(url, name, str(event["error"]))
    return event


def _error_text(body: bytes) -> str:
    try:
        return str(json.loads(body).get("error") or body.decode(errors="replace"))
    except (ValueError, AttributeError):
        return body.decode(errors="replace").strip() or "no reason given"


def refusal(url: str, name: str, error: str) -> HerdError:
    if "file does not exist" in error or "not found" in error:
        return ModelNotAvailable(
            f"Ollama has no model named {name} (Ollama at {url} answered: {error}); check the name and tag at "
            "https://ollama.com/library, e.g. llama3.2-vision or llama3.2:3b"
        )
    return ProviderUnavailable(f"Ollama at {url} could not pull {name}: {error}")


def broken(url: str, name: str, what: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"the pull of {name} from Ollama at {url} broke off ({what}); run the same command again, "
        "Ollama keeps the layers it has"
    )


class PullProgress:
    """Progress on stderr: one line rewritten on a terminal, a line per status and 10% step otherwise."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.shown: tuple[str, int] | None = None

    def show(self, event: dict[str, Any]) -> None:
        status = str(event.get("status") or "")
        total, completed = event.get("total") or 0, event.get("completed") or 0
        percent = int(100 * completed / total) if isinstance(total, int) and total > 0 else -1
        key = (status, percent if self.tty else percent // 10 * 10)
        if key == self.shown:
            return
        start = "" if self.shown is None else "\r" if self.shown[0] == status else "\n"
        self.shown = key
        text = f"{status} {percent:3d}% ({completed / 1e6:.1f}/{total / 1e6:.1f} MB)" if percent >= 0 else status
        if self.tty:
            typer.echo(f"{start}{text}\x1b[K", file=self.out, nl=False)  # \x1b[K clears what a longer line left
        else:
            typer.echo(text, file=self.out)

    def close(self) -> None:
        if self.tty and self.shown is not None:
            typer.echo("", file=self.out)
