"""A tool call as a collapsible block: name and duration in the title; arguments and result inside."""

import json

from textual.widgets import Collapsible, Static

from herd.apps.chat.events import ToolCall

MAX_SHOWN = 4000  # characters of a result shown; the rest is cut with a note


def pretty(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}\n… ({len(text) - MAX_SHOWN} more characters)"


def title(call: ToolCall) -> str:
    name = f"{call.server}.{call.name}" if call.server else call.name
    if not call.done:
        return f"⚙ {name} · running…"
    took = f" · {call.duration_s:.2f} s" if call.duration_s is not None else ""
    return f"{'✗' if call.error else '⚙'} {name}{took}{' · failed' if call.error else ''}"


class ToolBlock(Collapsible):
    DEFAULT_CSS = """
    ToolBlock { margin: 0 0 1 0; border-left: thick $accent; background: $boost; }
    ToolBlock.failed { border-left: thick $error; }
    ToolBlock .tool-part { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, call: ToolCall) -> None:
        self.call = call
        self._arguments = Static("", classes="tool-part", markup=False)
        self._result = Static("", classes="tool-part", markup=False)
        super().__init__(self._arguments, self._result, title=title(call), collapsed=True)
        self.set_class(call.error is not None, "failed")  # a failed call from a conversation's history
        self._fill()

    def update_call(self, call: ToolCall) -> None:
        self.call = call
        self.title = title(call)
        self.set_class(call.error is not None, "failed")
        self._fill()

    def _fill(self) -> None:
        self._arguments.update(f"arguments:\n{pretty(self.call.arguments) or '(none)'}")
        if self.call.error:
            self._result.update(f"error:\n{_cut(self.call.error)}")
        elif self.call.done:
            self._result.update(f"result:\n{_cut(self.call.output) or '(empty)'}")
        else:
            self._result.update("result: (running)")
