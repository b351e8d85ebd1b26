"""`herd keys create|list|revoke`: the API keys in ``$HERD_HOME/keys.yaml``.

A running server reads the file again when it changes: a new key works and a revoked one
stops at once, with no restart.
"""

import time
from typing import Annotated

import typer

from herd.cli.table import table

app = typer.Typer(help="API keys of the servers using this HERD_HOME: create, list, revoke.")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The key's owner: what it makes is visible to it alone.")],
    requests_per_minute: Annotated[int | None, typer.Option(min=1, help="Requests a minute; then 429.")] = None,
    tokens_per_day: Annotated[int | None, typer.Option(min=1, help="Tokens a UTC day; then 429.")] = None,
    max_streams: Annotated[int | None, typer.Option(min=1, help="Streaming requests open at once.")] = None,
) -> None:
    """Make a new key; it is printed once (Herd keeps only its hash)."""
    from herd.distribution.keys import KeyFile, KeyLimits

    file = KeyFile()
    limits = KeyLimits(requests_per_minute=requests_per_minute, tokens_per_day=tokens_per_day, max_streams=max_streams)
    secret = file.create(name, limits)
    typer.echo(secret)
    typer.echo(f"herd: key {name!r} saved (hash only) in {file.path}; it is shown this once", err=True)


@app.command("list")
def list_keys() -> None:
    """The keys, their limits, and the tokens each owner used today (UTC)."""
    from herd.distribution.access import TokenUsage
    from herd.distribution.home import herd_home
    from herd.distribution.keys import KeyFile

    keys = KeyFile().read()
    if not keys:
        typer.echo("no keys; `herd keys create NAME` makes one (a server with no key takes requests from anyone)")
        return
    usage_path = herd_home() / "usage.db"
    usage = TokenUsage(usage_path) if usage_path.exists() else None

    def when(stamp: float | None) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(stamp)) if stamp else "-"

    rows = [
        (
            k.name,
            k.sha256[:12],
            when(k.created),
            f"revoked {when(k.revoked)}" if k.revoked else "live",
            k.requests_per_minute or "-",
            k.tokens_per_day or "-",
            k.max_streams or "-",
            usage.used(k.name) if usage else 0,
        )
        for k in keys
    ]
    typer.echo(table(("NAME", "SHA256", "CREATED (UTC)", "STATE", "REQ/MIN", "TOKENS/DAY", "STREAMS", "TODAY"), rows))


@app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The key's name (see `herd keys list`).")]) -> None:
    """Revoke a key: running servers refuse it from their next request."""
    from herd.distribution.keys import KeyFile

    count = KeyFile().revoke(name)
    typer.echo(f"herd: revoked {count} key{'s' if count != 1 else ''} named {name!r}")
