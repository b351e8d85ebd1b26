"""The `herd` command. Sub-command groups live in their own modules; heavy imports stay inside commands."""

import sys

import typer

from herd.cli import agents, build, chat, docs, doctor, keys, listing, mcp, models, run, shields, stores, tools
from herd.errors import HerdError

app = typer.Typer(
    name="herd",
    help="Herd: a Llama Stack distribution for agentic applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rendering it with rich costs ~0.13 s on every `--help`.
    rich_markup_mode=None,
)
app.command("run")(run.run)
app.command("build")(build.build)
app.command("doctor")(doctor.doctor)
app.command("chat")(chat.chat)
app.add_typer(listing.distributions_app, name="distributions")
app.add_typer(listing.providers_app, name="providers")
app.add_typer(models.app, name="models")
app.add_typer(agents.app, name="agents")
app.add_typer(docs.app, name="docs")
app.add_typer(stores.app, name="stores")
app.add_typer(shields.app, name="shields")
app.add_typer(tools.app, name="tools")
app.add_typer(mcp.app, name="mcp")
app.add_typer(keys.app, name="keys")


def main() -> None:
    """Entry point: domain errors become one line on stderr and exit status 1."""
    try:
        # Outside standalone mode, click returns the code of a `typer.Exit(n)` instead of exiting.
        code = app(standalone_mode=False)
    except HerdError as exc:
        typer.echo(f"herd: error: {exc}", err=True)
        sys.exit(1)
    except typer.Abort:
        typer.echo("herd: aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.exceptions.TyperException as exc:  # usage errors (typer's vendored click) in non-standalone mode
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"herd: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    if isinstance(code, int) and code:
        sys.exit(code)
