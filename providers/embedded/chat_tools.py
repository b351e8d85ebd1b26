"""Tools in chat requests to llama.cpp: rewrite the request, then read the reply.

With ``tool_choice`` "required" or a named function, the request carries a JSON
schema of one call, which llama.cpp enforces while decoding. With "auto", Herd's own
instructions (``toolcalls.instructions``) go into the system prompt and earlier tool
turns are written in the same form, or, with ``tool_prompt: template``, tools go to
the model's chat template when it knows them. Calls written as text are read back,
checked against their schemas, and a bad one is repaired by one retry constrained to
that function; guesses and repeats are dropped (``toolcalls.settle``).

With ``normalise_tool_calls`` off, tools and tool_choice go to llama.cpp as given and
its reply comes back as it read it: the baseline the normaliser is measured against.
"""

from typing import Any

from herd.providers import toolcalls

_JSON_FORMATS = ("json_schema", "json_object")


class ToolPlan:
    """How one chat request uses tools: rewrites the request, then reads the reply."""

    def __init__(
        self,
        body: dict[str, Any],
        native_tools: bool,
        normalise: bool = True,
        tool_prompt: str = "herd",
        drop_guesses: bool = True,
    ) -> None:
        body = dict(body)
        self.original = dict(body)
        self.native_tools = native_tools
        self.tool_prompt = tool_prompt
        self.drop_guesses = drop_guesses
        self.template_prompt = native_tools and tool_prompt == "template"
        self.tools: list[dict[str, Any]] = []
        self.choice = body.get("tool_choice")
        self.forced = self.use_tools = self.json_reply = False
        self.body = body
        self.history: toolcalls.History | None = None  # read only when the reply's calls are checked
        if normalise:
            self._rewrite(body)

    def _rewrite(self, body: dict[str, Any]) -> None:
        self.tools = body.pop("tools", None) or []
        self.choice = body.pop("tool_choice", None)
        messages = body["messages"]
        self.forced = bool(self.tools) and toolcalls.is_forced(self.choice)
        self.use_tools = bool(self.tools) and self.choice != "none"
        if self.use_tools:
            self.history = toolcalls.History.of(messages, self.tools, self.drop_guesses)
        if not self.template_prompt:
            messages = toolcalls.flatten_tool_turns(messages)
        if self.forced:
            body["json_schema"] = toolcalls.forced_schema(self.tools, self.choice)
            body.pop("response_format", None)
        if self.use_tools and (self.forced or not self.template_prompt):
            messages = toolcalls.with_system(messages, toolcalls.instructions(self.tools, self.choice))
        elif self.use_tools:
            body["tools"] = self.tools
        body["messages"] = messages
        self.json_reply = (body.get("response_format") or {}).get("type") in _JSON_FORMATS

    def reader(self) -> toolcalls.CallReader:
        return toolcalls.CallReader(self.tools, self.json_reply)

    def retry_body(self, tool_choice: Any) -> dict[str, Any]:
        """The request again, constrained to one call as ``tool_choice`` says (never streamed)."""
        body = {**self.original, "tool_choice": tool_choice}
        for key in ("stream", "stream_options"):
            body.pop(key, None)
        return ToolPlan(body, self.native_tools, tool_prompt=self.tool_prompt, drop_guesses=self.drop_guesses).body

    async def finish(self, result: dict[str, Any], retry: toolcalls.Retry) -> dict[str, Any]:
        """The reply with its calls read and checked; ``retry`` repairs a bad one (not when forced)."""
        result.pop("timings", None)
        if not self.use_tools:
            return result
        retry_or_none = None if self.forced else retry
        return await toolcalls.normalise_completion(result, self.tools, retry_or_none, self.json_reply, self.history)
