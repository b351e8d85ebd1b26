"""`herd mcp serve`: a running Herd server's agents, models and vector stores as an MCP server on stdio."""

import typer

from herd.cli.options import DEFAULT_URL, ApiKeyOption, UrlOption

app = typer.Typer(help="Herd as an MCP server: its agents and vector stores as tools for other MCP clients.")


@app.command("serve")
def serve(url: UrlOption = DEFAULT_URL, api_key: ApiKeyOption = None) -> None:
    """Serve MCP on stdin/stdout, with tools for the Herd server at --url.

    Tools: list_agents, chat (an agent or model; continue with the response id it
    returns), list_stores, search (a vector store by name or id). The Herd server
    must be running (`herd run`); errors come back to the client as tool errors.

    To register it in an MCP client (Claude Desktop, an IDE, ...), add a stdio server:

    \b
        {"command": "herd", "args": ["mcp", "serve", "--url", "http://127.0.0.1:8321"]}

    (under "mcpServers": {"herd": {...}} in most clients' JSON settings; use the full
    path to `herd` if the client does not run it in Herd's virtual environment).
    """
    from herd.apps.mcp_server import build_server

    build_server(url).run(transport="stdio")
