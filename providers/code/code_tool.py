"""The ``python`` tool: code run in the sandbox, its result as JSON the model reads and clients parse.

The text the model gets is one JSON object (``exit_code``, ``stdout``, ``stderr``, ``limit``,
``files``, ``images``, ``notes``). Herd's ``code_interpreter`` support in the Responses API
reads the same object back to build ``code_interpreter_call`` outputs, so the format is a
contract: ``parse_result`` is its reader.
"""

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from herd.providers.code.sandbox import Sandbox, SandboxResult
from herd.providers.tools.spec import Attachment, HerdTool, Param, ToolArgumentError, ToolOutput

# Stores a file for clients and gives back its id; None keeps files inline (base64) instead.
FileStore = Callable[[Attachment], Awaitable[str]]
MAX_CODE_CHARS = 100_000


def describe(result: SandboxResult, stored: dict[str, str], inline_bytes: int) -> dict[str, Any]:
    files = []
    for f in result.files:
        entry: dict[str, Any] = {"name": f.name, "mime": f.mime, "bytes": len(f.data)}
        if f.mime.startswith("text/") and len(f.data) <= inline_bytes:
            entry["text"] = f.data.decode("utf-8", "replace")
        elif f.name in stored:
            entry["file_id"] = stored[f.name]
        else:
            entry["base64"] = base64.b64encode(f.data).decode()
        files.append(entry)
    images = []
    for image in result.images:
        key = ".herd-figures/" + image.name
        if key in stored:
            images.append({"name": image.name, "mime": image.mime, "bytes": len(image.data), "file_id": stored[key]})
        else:
            url = f"data:{image.mime};base64," + base64.b64encode(image.data).decode()
            images.append({"name": image.name, "mime": image.mime, "bytes": len(image.data), "url": url})
    return {
        "exit_code": result.exit_code,
        "stdout": result.stdout + ("\n[stdout truncated]" if result.stdout_truncated else ""),
        "stderr": result.stderr + ("\n[stderr truncated]" if result.stderr_truncated else ""),
        "limit": result.limit,
        "files": files,
        "images": images,
        "notes": result.notes,
        "isolation": result.isolation,
        "seconds": round(result.seconds, 3),
    }


def parse_result(text: str) -> dict[str, Any] | None:
    """The JSON object ``python`` returned, or None when the text is not one (an error message)."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) and "exit_code" in value and "stdout" in value else None


def make_python_tool(sandbox: Sandbox, store: FileStore | None = None) -> HerdTool:
    async def run(code: str) -> ToolOutput:
        if not isinstance(code, str) or not code.strip():
            raise ToolArgumentError("python needs `code`: the Python source to run, as a string")
        if len(code) > MAX_CODE_CHARS:
            raise ToolArgumentError(f"python: the code is {len(code)} characters; send at most {MAX_CODE_CHARS}")
        result = await sandbox.run(code)
        stored: dict[str, str] = {}
        if store is not None:
            for f in result.files:
                if not (f.mime.startswith("text/") and len(f.data) <= sandbox.limits.inline_bytes):
                    stored[f.name] = await store(f)
            for image in result.images:
                stored[".herd-figures/" + image.name] = await store(image)
        data = describe(result, stored, sandbox.limits.inline_bytes)
        return ToolOutput(
            text=json.dumps(data, ensure_ascii=False),
            data=data,
            attachments=result.files + result.images,
        )  # a program that fails is a tool call that worked: the exit code and limit are in the result

    return HerdTool(
        name="python",
        description=(
            "Run Python 3.12 code in a fresh sandbox (no network, only its working directory writable; numpy and "
            "matplotlib available) and return its stdout, stderr, exit code, files it wrote and matplotlib figures. "
            "Print what you need to see; a last bare expression is printed too."
        ),
        params=(Param("code", "The Python source to run."),),
        run=run,
    )
