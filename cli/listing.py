"""`herd distributions list` and `herd providers list`."""

from typing import Annotated, Any

import typer

from herd.cli.table import first_line, table
from herd.errors import ConfigError

distributions_app = typer.Typer(help="Distributions Herd can build and run.", no_args_is_help=True)
providers_app = typer.Typer(help="Providers a run config can use.", no_args_is_help=True)


@distributions_app.command("list")
def list_distributions() -> None:
    """List the distribution templates (use a name with `herd build` or `herd run`)."""
    from herd.distribution.templates import DISTRIBUTIONS

    rows = [(d.name, d.description) for d in DISTRIBUTIONS.values()]
    typer.echo(table(("NAME", "DESCRIPTION"), rows))


def provider_rows(api: str | None = None) -> list[tuple[str, str, str, str]]:
    """(API, provider_type, origin, description) for Herd's and llama-stack's providers."""
    from llama_stack.core.distribution import get_provider_registry

    from herd.providers.registry import herd_specs

    registry = get_provider_registry()
    specs: list[tuple[Any, str]] = [(spec, "herd") for spec in herd_specs()]
    specs += [(spec, "llama-stack") for by_type in registry.values() for spec in by_type.values()]
    known = sorted({spec.api.value for spec, _ in specs})
    if api is not None and api not in known:
        raise ConfigError(f"unknown API '{api}'; choose one of: {', '.join(known)}")
    rows = [
        (spec.api.value, spec.provider_type, origin, first_line(spec.description))
        for spec, origin in specs
        if api is None or spec.api.value == api
    ]
    return sorted(rows, key=lambda r: (r[0], r[2] != "herd", r[1]))


@providers_app.command("list")
def list_providers(
    api: Annotated[
        str | None, typer.Option(help="Show only providers of this API, e.g. inference, vector_io, tool_runtime.")
    ] = None,
) -> None:
    """List Herd's own providers and llama-stack's built-in ones."""
    rows = provider_rows(api)
    typer.echo(table(("API", "PROVIDER_TYPE", "ORIGIN", "DESCRIPTION"), rows))
