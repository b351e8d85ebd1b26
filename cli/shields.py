"""`herd shields list|check`: the shields of a running Herd server, and a verdict on a text or image."""

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from herd.cli.options import DEFAULT_URL, ApiKeyOption, UrlOption
from herd.cli.table import table

app = typer.Typer(help="Shields of a running Herd server: list them, check a text or image.")


def _client(url: str) -> Any:
    from herd.apps.docs.client import StoreClient

    return StoreClient(url)


@app.command("list")
def list_shields(url: UrlOption = DEFAULT_URL, api_key: ApiKeyOption = None) -> None:
    """List the server's shields: kind, model, and where the server's policy runs them."""
    listing = _client(url).request("GET", "/herd/shields")
    rows = [
        (s["id"], s.get("kind", "-"), s.get("model") or s.get("variant") or "-", ",".join(s["runs_on"]) or "-")
        for s in listing["data"]
    ]
    if not rows:
        typer.echo("no shields; add a safety provider to the run config (see README, Shields)")
        return
    typer.echo(table(("SHIELD", "KIND", "MODEL", "RUNS ON"), rows))
    typer.echo(f"when a shield cannot judge: fail {listing['policy']['on_error']}")


def _image_url(path: Path) -> str:
    from herd.errors import InvalidRequest
    from herd.providers.vision.sources import data_url

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read image {path}: {exc.strerror}") from exc
    return data_url(data)


@app.command("check")
def check(
    text: Annotated[str, typer.Argument(help="The text to judge (use '' with --image alone).")],
    image: Annotated[list[Path] | None, typer.Option("--image", help="An image to judge with it.")] = None,
    shield: Annotated[list[str] | None, typer.Option("--shield", help="A shield id (default: all).")] = None,
    role: Annotated[str, typer.Option(help="Whose words: user, assistant or tool.")] = "user",
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Judge TEXT with the server's shields; print each verdict, its categories and latency.

    Exits 1 when a shield flags the text, 2 when a shield could not judge.
    """
    body = {"text": text, "images": [_image_url(p) for p in image or []], "shields": shield or [], "role": role}
    start = time.perf_counter()
    verdicts = _client(url).request("POST", "/herd/shields/check", json=body)["verdicts"]
    total = (time.perf_counter() - start) * 1000
    rows = [
        (
            v["shield"],
            "error" if v["error"] else ("FLAGGED" if v["flagged"] else "safe"),
            ", ".join(v["categories"]) or "-",
            f"{v['score']:.2f} ({v['score_source']})",
            f"{v['latency_ms']:.1f} ms",
            v["reason"],
        )
        for v in verdicts
    ]
    typer.echo(table(("SHIELD", "VERDICT", "CATEGORIES", "SCORE", "LATENCY", "REASON"), rows))
    typer.echo(f"round trip {total:.1f} ms")
    if any(v["error"] for v in verdicts):
        raise typer.Exit(2)
    if any(v["flagged"] for v in verdicts):
        raise typer.Exit(1)
