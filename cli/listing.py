import typer

distributions_app = typer.Typer()
providers_app = typer.Typer()
