import typer


def build() -> None:
    raise typer.Exit(2)
