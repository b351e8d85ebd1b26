"""`herd agents list` and `herd agents run`: agents from the shell, with their steps streamed."""

import mimetypes
from pathlib import Path
from typing import Annotated, Any

import typer

from herd.cli.options import DEFAULT_URL, ApiKeyOption, UrlOption, current_key
from herd.cli.table import first_line, table
from herd.errors import ConfigError, HerdError, InvalidRequest, server_message

app = typer.Typer(help="Agents: named instructions, model, tools and routing, served as `agent:NAME`.")


@app.command("list")
def list_agents(
    url: Annotated[str | None, typer.Option(help="List what this running server serves instead.")] = None,
    api_key: ApiKeyOption = None,
    agents: Annotated[
        list[Path] | None, typer.Option("--agents", exists=True, file_okay=False, help="Extra definitions folder.")
    ] = None,
) -> None:
    """List agent definitions (built-in, $HERD_HOME/agents, --agents folders)."""
    if url:
        rows = [_row(a) for a in _get_json(url, "/v1/herd/agents")["data"]]
    else:
        from herd.apps.agents.library import load_agents
        from herd.distribution.gateway import agent_summary

        rows = [_row(agent_summary(spec)) for spec in sorted(load_agents(agents).values(), key=lambda s: s.name)]
    typer.echo(table(("NAME", "MODEL", "POLICY", "TOOLS", "DESCRIPTION"), rows))


def _row(agent: dict[str, Any]) -> tuple[str, ...]:
    tools = ",".join(agent["tools"]) or "-"
    return agent["name"], agent["model"], agent["policy"], tools, first_line(agent["description"], 60)


def _get_json(url: str, path: str) -> Any:
    import httpx

    try:
        key = current_key()
        reply = httpx.get(
            url.rstrip("/") + path, timeout=10, headers={"Authorization": f"Bearer {key}"} if key else None
        )
    except httpx.HTTPError as exc:
        raise ConfigError(f"no Herd server answers at {url} ({exc}); start one with `herd run` or fix --url") from exc
    if reply.status_code == 401:
        raise ConfigError(f"{url} needs a valid API key: give --api-key or set HERD_API_KEY")
    if reply.status_code != 200:
        raise ConfigError(f"{url}{path} answered {reply.status_code}; is it a Herd server?")
    return reply.json()


@app.command("run")
def run_agent(
    name: Annotated[str, typer.Argument(help="The agent, as `herd agents list` shows it.")],
    prompt: Annotated[str, typer.Argument(help="What to ask.")],
    image: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="An image (or video) to attach; repeatable."),
    ] = None,
    conversation: Annotated[
        str | None, typer.Option(help="A conversation id whose last messages go before the prompt.")
    ] = None,
    last: Annotated[int, typer.Option(help="How many messages of --conversation to include.", min=1)] = 20,
    out: Annotated[Path | None, typer.Option(help="Write the agent's file (e.g. an .ics invite) here.")] = None,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Run an agent on a running Herd server and stream its steps (route, vision, tools, answer)."""
    from llama_stack_client import APIConnectionError, APIStatusError, LlamaStackClient

    client = LlamaStackClient(base_url=url, timeout=600, max_retries=0, api_key=current_key())
    try:
        text = prompt
        if conversation:
            text = f"{_conversation_text(client, conversation, last)}\n\n{prompt}"
        content = [{"type": "input_text", "text": text}, *[_attachment(p) for p in image or []]]
        message: Any = {"role": "user", "content": content}  # the SDK's TypedDict union is too narrow to spell
        stream = client.responses.create(model=f"agent:{name}", input=[message], stream=True)
        response = _print_steps(stream)
    except APIConnectionError as exc:
        raise ConfigError(f"no Herd server answers at {url}; start one with `herd run` or fix --url") from exc
    except APIStatusError as exc:
        raise HerdError(f"the server refused the request ({exc.status_code}): {server_message(exc)}") from exc
    if out is not None:
        _write_artifact(name, response, out)


def _conversation_text(client: Any, conversation: str, last: int) -> str:
    from herd.apps.agents.recipes import conversation_prompt

    items = [item.to_dict() for item in client.conversations.items.list(conversation, order="asc")]
    return conversation_prompt(items, last)


def _attachment(path: Path) -> dict[str, Any]:
    mime = mimetypes.guess_type(path.name)[0] or ""
    if not mime.startswith(("image/", "video/")):
        raise InvalidRequest(f"{path} is not an image or a video (by its name); attach a .png, .jpg, .mp4, ...")
    from herd.providers.vision.sources import data_url

    return {"type": "input_image", "image_url": data_url(path.read_bytes(), mime), "detail": "auto"}


def _print_steps(stream: Any) -> Any:
    from herd.apps.agents.steps import steps

    response, last_kind = None, None
    for event in stream:
        for step in steps(event):
            if step.kind in ("text", "vision") and step.kind == last_kind:
                typer.echo(step.text, nl=False, err=step.kind == "vision")
            elif step.kind in ("text", "vision"):
                typer.echo(("\n" if last_kind else "") + ("[vision] " if step.kind == "vision" else ""), nl=False)
                typer.echo(step.text, nl=False, err=step.kind == "vision")
            elif step.kind == "failed":
                raise HerdError(f"the agent's run failed: {step.text}")
            else:
                typer.echo(("\n" if last_kind in ("text", "vision") else "") + f"[{step.kind}] {step.text}", err=True)
            response = step.data if step.kind == "done" else response
            last_kind = step.kind
    typer.echo("")
    return response


def _write_artifact(name: str, response: Any, out: Path) -> None:
    from herd.apps.agents.recipes import RENDERERS
    from herd.apps.agents.steps import structured

    if name not in RENDERERS:
        raise ConfigError(f"agent '{name}' makes no file; --out works with: {', '.join(RENDERERS)}")
    _suffix, render = RENDERERS[name]
    try:
        out.write_text(render(structured(response)), newline="")
    except ValueError as exc:
        raise HerdError(str(exc)) from exc
    typer.echo(f"herd: wrote {out}", err=True)
