"""The messages of a conversation: the user's, the assistant's (streamed Markdown, tool blocks,
citations, timings) and notices (shield verdicts, errors)."""

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Markdown, Static
from textual.widgets.markdown import MarkdownStream

from herd.apps.chat.events import ApprovalRequest, Attachment, Blocked, Citation, Finished, ToolCall
from herd.apps.chat.widgets.approval import ApprovalBlock
from herd.apps.chat.widgets.attachments import attachment_view
from herd.apps.chat.widgets.tool_block import ToolBlock


class UserMessage(Vertical):
    def __init__(self, text: str, attachments: tuple[Attachment, ...] = (), names: tuple[str, ...] = (), inline=False):
        super().__init__(classes="message user")
        self.text = text
        self._attachments = attachments
        self._names = names
        self._inline = inline

    def compose(self) -> ComposeResult:
        yield Static(self.text, classes="body", markup=False)
        for attachment in self._attachments:
            yield attachment_view(attachment, self._inline)
        for name in self._names:
            yield Static(f"🖼  {name}", classes="image-placeholder", markup=False)


def stats_line(done: Finished) -> str:
    parts = []
    if done.output_tokens:
        parts.append(f"{done.output_tokens} tokens")
    if done.tokens_per_s is not None:
        parts.append(f"{done.tokens_per_s:.1f} tok/s")
    if done.ttft_s is not None:
        parts.append(f"first token {done.ttft_s:.2f} s")
    parts.append(f"{done.total_s:.1f} s")
    if done.stopped:
        parts.append("stopped")
    return " · ".join(parts)


class CitationList(Horizontal):
    """The files an answer cites; each opens to show the passages it drew on."""

    @dataclass
    class Opened(Message):
        citation: Citation

    def __init__(self, citations: tuple[Citation, ...]) -> None:
        super().__init__(classes="citations")
        self.citations = citations

    def compose(self) -> ComposeResult:
        yield Static("Sources:", classes="label")
        for index, citation in enumerate(self.citations, 1):
            yield Button(f"[{index}] {citation.filename}", id=f"cite-{index}", classes="citation", compact=True)

    @on(Button.Pressed, ".citation")
    def _open(self, event: Button.Pressed) -> None:
        event.stop()
        index = int((event.button.id or "cite-1").removeprefix("cite-")) - 1
        self.post_message(self.Opened(self.citations[index]))


class StoredAnswer(Static):
    """An answer of the history, as one widget: Textual's Markdown makes a widget of every paragraph,
    list item and code block (~19 an answer), which made opening a long conversation take over a
    second and every keystroke re-lay out hundreds of widgets. Rich draws the same Markdown here."""

    def __init__(self, text: str) -> None:
        from rich.markdown import Markdown as RichMarkdown

        super().__init__(RichMarkdown(text, code_theme="monokai"), classes="body stored")
        self.source = text


class AssistantMessage(Vertical):
    """An answer: tool blocks (and calls waiting for approval) as they come, then the text
    (streamed), then citations and timings.

    A ``stored`` answer (from the history) is drawn as one ``StoredAnswer`` widget."""

    def __init__(self, text: str = "", stored: bool = False) -> None:
        super().__init__(classes="message assistant")
        self.text = text
        self._tools: dict[str, ToolBlock] = {}
        self._markdown = Markdown(text, classes="body")
        self._stream: MarkdownStream | None = None
        self.stored = stored

    def compose(self) -> ComposeResult:
        yield Vertical(classes="tools")
        yield StoredAnswer(self.text) if self.stored else self._markdown

    async def write(self, fragment: str) -> None:
        """Add streamed text; the Markdown stream batches fragments so the answer does not flicker."""
        self.text += fragment
        if self._stream is None:
            self._stream = Markdown.get_stream(self._markdown)
        await self._stream.write(fragment)

    async def end(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()

    async def tool(self, call: ToolCall) -> None:
        if call.call_id in self._tools:
            self._tools[call.call_id].update_call(call)
            return
        block = ToolBlock(call)
        self._tools[call.call_id] = block
        await self.query_one(".tools", Vertical).mount(block)

    async def approval(self, request: ApprovalRequest) -> None:
        await self.query_one(".tools", Vertical).mount(ApprovalBlock(request))

    async def finish(self, done: Finished) -> None:
        await self.end()
        if done.text and not self.text:
            self.text = done.text
            await self._markdown.update(done.text)
        if done.citations:
            await self.mount(CitationList(done.citations))
        await self.mount(Static(stats_line(done), classes="stats"))


def blocked_text(blocked: Blocked) -> str:
    lines = [f"⛔ {blocked.message}"]
    for verdict in blocked.verdicts:
        what = ", ".join(verdict.categories) or "unsafe content"
        lines.append(f"   {verdict.stage}: shield '{verdict.shield}' · {what}")
    return "\n".join(lines)


class Notice(Static):
    """A line the app says in the conversation: a blocked message, an error and what to do."""

    def __init__(self, text: str, kind: str = "error") -> None:
        super().__init__(text, classes=f"notice {kind}", markup=False)
        self.kind = kind
