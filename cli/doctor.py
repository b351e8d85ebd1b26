import typer


def doctor() -> None:
    raise typer.Exit(2)
