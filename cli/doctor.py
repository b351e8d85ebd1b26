"""`herd doctor`: check that this machine can serve a run config; the checks live in distribution/doctor.py."""

from pathlib import Path
from typing import Annotated

import typer


def doctor(
    config: Annotated[
        Path | None, typer.Option(help="Run config to check (default: the embedded distribution's run.yaml).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port the server will listen on.", min=1, max=65535)] = 8321,
    host: Annotated[str, typer.Option(help="Address the server will bind.")] = "127.0.0.1",
    full: Annotated[
        bool, typer.Option("--full/--quick", help="--full checks every model's sha256; --quick only presence and size.")
    ] = True,
) -> None:
    """Check Python, packages, model weights, memory and the port; exit 1 if anything fails."""
    from herd.distribution import doctor as checks
    from herd.distribution.runconfig import DEFAULT_RUN_CONFIG

    failed = 0
    for check in checks.run_checks(config or DEFAULT_RUN_CONFIG, host, port, full):
        typer.echo(check.line())
        failed += not check.ok
    if failed:
        typer.echo(f"{failed} check(s) failed; apply the fixes above and run `herd doctor` again", err=True)
        raise typer.Exit(1)
    typer.echo("all checks passed")
