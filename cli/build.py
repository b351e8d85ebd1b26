"""`herd build`: write a distribution's run config and the packages its providers need."""

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from herd.errors import ConfigError, HerdError

# Lines added to every requirements.txt: llama-stack 0.7.3 fails to import with mcp 2.x,
# while its MCP provider only asks for mcp>=1.23.0.
CONSTRAINTS = ["mcp<2"]


def build(
    dist: Annotated[str, typer.Argument(metavar="DIST", help="Distribution name (see `herd distributions list`).")],
    out: Annotated[
        Path | None, typer.Option(help="Folder to write run.yaml and requirements.txt into (default: ./DIST).")
    ] = None,
    install: Annotated[
        bool, typer.Option("--install/--no-install", help="Also pip-install the requirements into this Python.")
    ] = False,
    guard_model: Annotated[
        str | None,
        typer.Option(
            help="Add the Llama Guard shield on this model: an Ollama name (llama-guard3:1b) for `ollama`, "
            "a model added with `herd models add` for `embedded` and `chroma`."
        ),
    ] = None,
) -> None:
    """Render DIST's run config into DIR/run.yaml, check it, and list the pip packages it needs."""
    from herd.distribution.templates import DISTRIBUTIONS

    if dist not in DISTRIBUTIONS:
        raise ConfigError(
            f"unknown distribution '{dist}'; choose one of: {', '.join(DISTRIBUTIONS)} (see `herd distributions list`)"
        )
    import yaml

    from herd.distribution import runconfig

    text = runconfig.render(dist, DISTRIBUTIONS[dist].render(**({"guard_model": guard_model} if guard_model else {})))
    stack_config = runconfig.validate(yaml.safe_load(text))
    packages = runconfig.pip_packages(stack_config)
    folder = out if out is not None else Path(dist)
    run_yaml, requirements = write_files(folder, text, packages)
    typer.echo(f"wrote {run_yaml}")
    typer.echo(f"wrote {requirements}:")
    for package in packages + CONSTRAINTS:
        typer.echo(f"  {package}")
    if install:
        pip_install(requirements)
    else:
        typer.echo(f"install them with: {sys.executable} -m pip install -r {requirements}")
    typer.echo(f"serve it with: herd run {run_yaml}")


def write_files(folder: Path, run_config: str, packages: list[str]) -> tuple[Path, Path]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        run_yaml = folder / "run.yaml"
        run_yaml.write_text(run_config)
        requirements = folder / "requirements.txt"
        header = "# pip packages of the providers in run.yaml, written by `herd build`.\n"
        requirements.write_text(header + "".join(f"{p}\n" for p in packages + CONSTRAINTS))
    except OSError as exc:
        raise ConfigError(f"cannot write into {folder}: {exc.strerror}; pick a writable folder with --out") from exc
    return run_yaml, requirements


def pip_install(requirements: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "-r", str(requirements)]
    typer.echo(f"running: {' '.join(command)}", err=True)
    code = subprocess.call(command)
    if code != 0:
        raise HerdError(
            f"pip install -r {requirements} failed with exit status {code}; "
            "read pip's messages above, fix the cause (network, a conflicting pin) and run it again"
        )
