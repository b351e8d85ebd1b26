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


def inline(attachment: Attachment, inline_bytes: int) -> bool:
    """Whether a file comes back as text in the result (else by file id, or base64)."""
    return attachment.mime.startswith("text/") and len(attachment.data) <= inline_bytes


def describe(result: SandboxResult, stored: dict[tuple[str, str], str], inline_bytes: int) -> dict[str, Any]:
    """The result as the model reads it; ``stored`` maps ("file" | "image", name) to a Files API id."""
    files = []
    for f in result.files:
        entry: dict[str, Any] = {"name": f.name, "mime": f.mime, "bytes": len(f.data)}
        if inline(f, inline_bytes):
            entry["text"] = f.data.decode("utf-8", "replace")
        elif ("file", f.name) in stored:
            entry["file_id"] = stored["file", f.name]
        else:
            entry["base64"] = base64.b64encode(f.data).decode()
        files.append(entry)
    images = []
    for image in result.images:
        key = ("image", image.name)
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
        stored: dict[tuple[str, str], str] = {}
        if store is not None:
            for f in result.files:
                if not inline(f, sandbox.limits.inline_bytes):
                    stored["file", f.name] = await store(f)
            for image in result.images:
                stored["image", image.name] = await store(image)
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
