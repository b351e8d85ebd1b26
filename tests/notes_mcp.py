"""A small real MCP server for tests over stdio: notes, one tool with side effects, and tools that misbehave.

Run: ``python tests/notes_mcp.py`` (Herd's MCP provider starts it as a child process).
``crash`` ends the process mid-call; ``hang`` never answers; ``pid`` tells which process answered.
"""

import os
import sys
import time

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

READ_ONLY = ToolAnnotations(readOnlyHint=True)
mcp = FastMCP("notes")
NOTES: dict[str, str] = {}


@mcp.tool(annotations=READ_ONLY)
def read_note(title: str) -> str:
    """Read the note with this title."""
    return NOTES.get(title, f"there is no note titled {title!r}")


@mcp.tool()
def write_note(title: str, text: str) -> str:
    """Save a note (it changes the notes, so it needs approval)."""
    NOTES[title] = text
    return f"saved note {title!r}"


@mcp.tool(annotations=READ_ONLY)
def crash() -> str:
    """Exit the server in the middle of the call."""
    print("notes: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@mcp.tool(annotations=READ_ONLY)
def hang() -> str:
    """Never answer."""
    time.sleep(3600)
    return "unreachable"


@mcp.tool(annotations=READ_ONLY)
def pid() -> str:
    """The process id of the server."""
    return str(os.getpid())


if __name__ == "__main__":
    mcp.run()
