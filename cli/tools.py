"""`herd tools list|run`: the tools of a running server, and one tool call from the shell.

`run` calls the tool in this process (Python goes to the same bubblewrap sandbox the server
uses, with the default limits) unless `--url` names a server, which then runs it with its
own configuration.
"""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from herd.cli.options import DEFAULT_URL, ApiKeyOption, UrlOption
from herd.cli.table import table
from herd.errors import InvalidRequest

app = typer.Typer(help="Tools: list a server's tools, run one from the shell.")


@app.command("list")
def list_tools(url: UrlOption = DEFAULT_URL, api_key: ApiKeyOption = None) -> None:
    """List every tool of the server with its tool group and provider."""
    from herd.apps.docs.client import StoreClient

    listing = StoreClient(url).request("GET", "/herd/tools")
    rows, problems = [], []
    for group in listing["data"]:
        provider = f"{group['provider_id']} ({group['provider_type']})"
        if group.get("error"):
            problems.append(f"{group['toolgroup_id']}: {group['error']}")
        for tool in group["tools"]:
            flags = [
                f
                for f, on in (("side effects", tool.get("side_effects")), ("approval", tool.get("requires_approval")))
                if on
            ]
            rows.append((tool["name"], group["toolgroup_id"], provider, ", ".join(flags) or "-"))
    if rows:
        typer.echo(table(("TOOL", "GROUP", "PROVIDER", "NEEDS"), rows))
    else:
        typer.echo("no tools; add a tool_runtime provider to the run config (see README, Tools)")
    for problem in problems:
        typer.echo(f"unavailable: {problem}", err=True)


def _arguments(code: str | None, file: Path | None, args: list[str], args_json: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args_json:
        try:
            parsed = json.loads(args_json)
        except ValueError as exc:
            raise InvalidRequest(
                f'--json-args is not JSON ({exc}); send an object such as \'{{"expression": "1+1"}}\''
            ) from exc
        if not isinstance(parsed, dict):
            raise InvalidRequest("--json-args must be a JSON object of the tool's arguments")
        out.update(parsed)
    for item in args:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"--arg {item!r}: write NAME=VALUE")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    if file is not None:
        try:
            out["code"] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"cannot read {file}: {exc}") from exc
    if code is not None:
        out["code"] = code
    return out


def _local(tool_name: str) -> Any:
    from herd.providers.tools.builtin import BUILTIN_TOOLS, builtin_tool

    if tool_name == "python":
        from herd.providers.code.code_tool import make_python_tool
        from herd.providers.code.limits import Limits
        from herd.providers.code.sandbox import Sandbox

        return make_python_tool(Sandbox(Limits()))
    if tool_name == "fetch_page":
        from herd.providers.tools.builtin.web_fetch import make_fetch_tool

        return make_fetch_tool()
    try:
        return builtin_tool(tool_name)
    except KeyError:
        known = ", ".join(["python", *(t.name for t in BUILTIN_TOOLS), "fetch_page"])
        raise InvalidRequest(
            f"there is no local tool {tool_name!r}; the tools are {known} (or use --url for a server's)"
        ) from None


async def _run_local(tool_name: str, arguments: dict[str, Any]) -> tuple[str, bool, dict[str, Any] | None]:
    from herd.providers.tools.spec import ToolArgumentError

    tool = _local(tool_name)
    try:
        output = await tool.run(**tool.check_arguments(arguments))
    except ToolArgumentError as exc:
        return str(exc), True, None
    return output.text, output.error, output.data


def _run_remote(url: str, tool_name: str, arguments: dict[str, Any]) -> tuple[str, bool, dict[str, Any] | None]:
    from herd.apps.docs.client import StoreClient

    reply = StoreClient(url).request("POST", "/herd/tools/invoke", json={"tool": tool_name, "arguments": arguments})
    return reply["content"], bool(reply.get("error")), reply.get("data")


def _show_python(data: dict[str, Any], out_dir: Path | None) -> int:
    typer.echo(data.get("stdout", ""), nl=False)
    if data.get("stderr"):
        typer.echo(data["stderr"], nl=False, err=True)
    parts = [f"exit {data.get('exit_code')}", f"{data.get('seconds', 0):.2f} s", str(data.get("isolation"))]
    if data.get("limit"):
        parts.insert(1, f"stopped: {data['limit']}")
    typer.echo(f"[{' · '.join(parts)}]", err=True)
    for entry in [*data.get("files", []), *data.get("images", [])]:
        where = entry.get("file_id") or ("inline" if "text" in entry or "base64" in entry or "url" in entry else "")
        typer.echo(
            f"  wrote {entry['name']} ({entry.get('bytes', '?')} bytes, {entry['mime']}) {where}".rstrip(), err=True
        )
        if out_dir is not None:
            _save(entry, out_dir)
    for note in data.get("notes", []):
        typer.echo(f"  note: {note}", err=True)
    code = data.get("exit_code")
    return code if isinstance(code, int) and 0 <= code < 256 and not data.get("limit") else 1


def _save(entry: dict[str, Any], out_dir: Path) -> None:
    import base64

    if "text" in entry:
        body = entry["text"].encode()
    elif "base64" in entry:
        body = base64.b64decode(entry["base64"])
    elif str(entry.get("url", "")).startswith("data:"):
        body = base64.b64decode(entry["url"].split(",", 1)[1])
    else:
        return
    target = out_dir / Path(entry["name"]).name
    out_dir.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)


@app.command("run")
def run_tool(
    tool: Annotated[
        str, typer.Argument(metavar="TOOL", help="The tool's name, e.g. python, calculator, convert_units.")
    ],
    code: Annotated[str | None, typer.Option("--code", help="Python source (for the python tool).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A file of Python source (for the python tool).")] = None,
    arg: Annotated[
        list[str] | None, typer.Option("--arg", help="An argument as NAME=VALUE (VALUE may be JSON).")
    ] = None,
    json_args: Annotated[str | None, typer.Option("--json-args", help="All arguments as one JSON object.")] = None,
    url: Annotated[str | None, typer.Option(help="Run it on this Herd server instead of here.")] = None,
    api_key: ApiKeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result exactly as the model reads it.")] = False,
    out: Annotated[Path | None, typer.Option(help="Save files and figures the code wrote into this folder.")] = None,
) -> None:
    """Call one tool and print its result. Exits with the code's exit status (python), 1 on a tool error."""
    import asyncio

    arguments = _arguments(code, file, arg or [], json_args)
    text, error, data = _run_remote(url, tool, arguments) if url else asyncio.run(_run_local(tool, arguments))
    if as_json or data is None or tool != "python":
        typer.echo(text, err=error)
        raise typer.Exit(1 if error else 0)
    raise typer.Exit(_show_python(data, out))


def _server_entry(
    name: str,
    command: str | None,
    url: str | None,
    env: list[str],
    cwd: str | None,
    timeout: float,
    approval: list[str],
) -> dict[str, Any]:
    import shlex

    server: dict[str, Any] = {"name": name}
    if command is not None:
        server["command"] = shlex.split(command)
    if url is not None:
        server["url"] = url
    pairs = [item.partition("=") for item in env]
    bad = [key for key, sep, _ in pairs if not sep or not key]
    if bad:
        raise InvalidRequest(f"--env {bad[0]!r}: write NAME=VALUE")
    if pairs:
        server["env"] = {key: value for key, _, value in pairs}
    if cwd is not None:
        server["cwd"] = cwd
    server["timeout_seconds"] = timeout
    if approval:
        keyword = approval[0] if len(approval) == 1 and approval[0] in ("all", "none", "side-effects") else None
        server["requires_approval"] = keyword or approval
    return server


@app.command("add-mcp")
def add_mcp(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A name for the server; its tools appear as NAME__TOOL.")],
    command: Annotated[
        str | None, typer.Option(help="The stdio server's command line, e.g. 'python server.py'.")
    ] = None,
    url: Annotated[str | None, typer.Option(help="A streamable-HTTP server's URL.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="NAME=VALUE for a stdio server's environment.")] = None,
    cwd: Annotated[str | None, typer.Option(help="Working directory of a stdio server.")] = None,
    timeout: Annotated[float, typer.Option(help="Longest a call may take, in seconds.")] = 30.0,
    approval: Annotated[
        list[str] | None,
        typer.Option("--approval", help="A tool that needs approval (repeat), or all / none / side-effects (default)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="The run config to change (default: $HERD_HOME/run.yaml).")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Replace a server of the same name.")] = False,
) -> None:
    """Add an MCP server to a run config: Herd starts it (stdio) or connects to it (HTTP) when serving."""
    from herd.distribution.mcp_config import add_server, user_config

    if (command is None) == (url is None):
        raise InvalidRequest("give exactly one of --command (a stdio server) or --url (a streamable-HTTP server)")
    path = config if config is not None else user_config()
    replaced = add_server(path, _server_entry(name, command, url, env or [], cwd, timeout, approval or []), replace)
    typer.echo(f"{'replaced' if replaced else 'added'} MCP server {name!r} in {path}")
    typer.echo(f"serve it with: herd run {path}   (its tools: herd tools list; in Responses: herd://herd::mcp/{name})")
