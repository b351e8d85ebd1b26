"""The llama-stack tool runtime every Herd tool provider is: one tool group of ``HerdTool``s.

llama-stack registers one tool group per tool_runtime provider type (its spec's
``toolgroup_id``), so Herd's groups are providers of their own: ``herd::builtin``
(``providers/tools``), ``herd::code`` (``providers/code``), ``herd::web`` (``providers/web``).
A tool's bad arguments come back as a result with ``error_message`` (the model reads it and
can retry), never as a server error.
"""

import io
from collections.abc import Sequence
from typing import Any

from herd.errors import ToolUnavailable
from herd.providers.tools.spec import Attachment, HerdTool, ToolArgumentError, ToolOutput


class HerdToolRuntime:
    tool_store: Any = None

    def __init__(self, group: str, provider_type: str, tools: Sequence[HerdTool]) -> None:
        self.group = group
        self.provider_type = provider_type
        self.tools = {tool.name: tool for tool in tools}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def register_toolgroup(self, toolgroup: Any) -> None:
        from herd.errors import ConfigError

        if toolgroup.identifier != self.group:
            raise ConfigError(
                f"tool group {toolgroup.identifier!r} is not served by the {self.provider_type} provider (it serves "
                f"{self.group}); register it with the provider that serves it"
            )

    async def unregister_toolgroup(self, toolgroup_id: str) -> None:
        return None

    async def list_runtime_tools(
        self, tool_group_id: str | None = None, mcp_endpoint: Any = None, authorization: str | None = None
    ) -> Any:
        from llama_stack_api import ListToolDefsResponse, ToolDef

        if tool_group_id not in (None, self.group):
            return ListToolDefsResponse(data=[])
        defs = [
            ToolDef(
                toolgroup_id=self.group,
                name=tool.name,
                description=tool.description,
                input_schema=tool.json_schema(),
                metadata=tool_metadata(tool, self.provider_type),
            )
            for tool in self.tools.values()
        ]
        return ListToolDefsResponse(data=defs)

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any], authorization: str | None = None) -> Any:
        from llama_stack_api import ToolInvocationResult

        output = await self.run(tool_name, kwargs)
        metadata = {"data": output.data} if output.data is not None else {}
        if output.error:
            return ToolInvocationResult(content=output.text, error_message=output.text, error_code=1, metadata=metadata)
        return ToolInvocationResult(content=output.text, metadata=metadata)

    async def run(self, tool_name: str, kwargs: dict[str, Any]) -> ToolOutput:
        """Run one tool; bad arguments become an error output that says what to send."""
        if tool_name not in self.tools:
            known = ", ".join(sorted(self.tools)) or "none"
            return ToolOutput(text=f"there is no tool {tool_name!r}; the tools are {known}", error=True)
        tool = self.tools[tool_name]
        try:
            return await tool.run(**tool.check_arguments(dict(kwargs or {})))
        except (ToolArgumentError, ToolUnavailable) as exc:
            return ToolOutput(text=str(exc), error=True)


def files_store(files_api: Any) -> Any:
    """A function that puts an attachment in the Files API and returns its file id."""

    async def store(attachment: Attachment) -> str:
        from fastapi import UploadFile
        from llama_stack_api import UploadFileRequest
        from starlette.datastructures import Headers

        upload = UploadFile(
            file=io.BytesIO(attachment.data),
            filename=attachment.name.rsplit("/", 1)[-1],
            headers=Headers({"content-type": attachment.mime}),
        )
        stored = await files_api.openai_upload_file(UploadFileRequest(purpose="assistants"), upload)
        return str(stored.id)

    return store


def tool_metadata(tool: HerdTool, provider_type: str) -> dict[str, Any]:
    return {
        "provider_type": provider_type,
        "side_effects": tool.side_effects,
        "requires_approval": tool.requires_approval,
    }
