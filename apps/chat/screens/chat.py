"""The main screen: conversations on the left, the conversation, the prompt, a status line.

Connecting, replies and resuming run in workers through the ``ChatClient`` seam; the quick saves of
the dialogs (rename, delete, settings) run in their callbacks. Widgets only post messages.
"""

import asyncio
from collections.abc import AsyncGenerator

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from herd.apps.chat import images
from herd.apps.chat.events import Attachment, ConversationInfo, Decision, Failed, Finished, ReplyEvent, Settings, Target
from herd.apps.chat.screens.dialogs import ChoiceScreen, ConfirmScreen, TextScreen
from herd.apps.chat.screens.info import CitationScreen, HelpScreen
from herd.apps.chat.screens.reply import ReplyView, failure_text
from herd.apps.chat.screens.settings import SettingsScreen
from herd.apps.chat.seam import ChatClient, ChatError
from herd.apps.chat.widgets.approval import ApprovalBlock
from herd.apps.chat.widgets.composer import Composer, PromptInput
from herd.apps.chat.widgets.log import MessageLog
from herd.apps.chat.widgets.messages import AssistantMessage, CitationList, Notice, UserMessage
from herd.apps.chat.widgets.sidebar import Sidebar
from herd.apps.chat.widgets.status import StatusBar

UNTITLED = "New conversation"

# key, action, footer label, palette help; the help screen and the command palette list the same
ACTIONS: list[tuple[str, str, str, str]] = [
    ("escape", "stop", "Stop", "Stop the reply being generated (its partial answer is kept)"),
    ("ctrl+n", "new", "New", "Start a new conversation"),
    ("f2", "rename", "Rename", "Rename this conversation"),
    ("f8", "delete", "Delete", "Delete this conversation from the server (asks first)"),
    ("ctrl+o", "attach", "Attach", "Attach an image (PNG, JPEG, WebP) to the next message"),
    ("ctrl+l", "pick", "Model", "Choose the model or agent this conversation talks to"),
    ("ctrl+s", "settings", "Settings", "Edit this conversation's model, system prompt and temperature"),
    ("ctrl+b", "sidebar", "Sidebar", "Show or hide the conversation list"),
    ("f5", "approve", "Approve", "Approve the tool call that waits for your approval"),
    ("f6", "deny", "Deny", "Deny the tool call that waits for your approval (asks why, for the model)"),
    ("ctrl+r", "retry", "Retry", "Reconnect to the server and resend the message that failed"),
    ("ctrl+g", "start_server", "Start server", "Start the embedded distribution here when no server answers"),
    ("ctrl+t", "app.toggle_theme", "Theme", "Switch between the light and the dark theme"),
    ("f1", "help", "Help", "Show the key bindings"),
]
SHOWN = {"stop", "new", "attach", "pick", "settings", "help"}


class ChatScreen(Screen[None]):
    BINDINGS = [Binding(k, a, label, show=a in SHOWN, priority=k == "escape") for k, a, label, _ in ACTIONS]

    def __init__(
        self, client: ChatClient, default: Settings, conversation: str | None = None, connect: bool = True
    ) -> None:
        super().__init__()
        self.connect_at_mount = connect
        self.can_start = False  # whether ctrl+g can start the embedded distribution
        self.client = client
        self.default = default
        self.conversation: ConversationInfo | None = None
        self.resume_id = conversation
        self.targets: list[Target] = []
        self.failed_message: tuple[str, tuple[Attachment, ...]] | None = None
        self.connected = False
        self.origin = ""  # where the server came from, e.g. the embedded one this app started

    DEFAULT_CSS = """
    ChatScreen #main { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Sidebar()
            with Vertical(id="main"):
                yield MessageLog()
                yield Composer()
                yield StatusBar()
        yield Footer()

    @property
    def log_view(self) -> MessageLog:
        return self.query_one(MessageLog)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def settings(self) -> Settings:
        return self.conversation.settings if self.conversation else self.default

    def on_mount(self) -> None:
        self.query_one(PromptInput).focus()
        if self.connect_at_mount:
            self.connect()

    # -- connecting ---------------------------------------------------------------

    @work(exclusive=True, group="connect")
    async def connect(self) -> None:
        self.status.server = f"connecting to {self.client.url}…"
        try:
            described = await self.client.ping()
            self.targets = await self.client.targets()
            conversations = await self.client.conversations()
        except ChatError as exc:
            return await self._disconnected(exc)
        # The status line first, and no await between it and `connected`: whoever sees the
        # screen connected also sees which server it is connected to.
        self.status.remove_class("down")
        self.status.server = f"{self.origin} · {described}" if self.origin else described
        self.connected = True
        await self.log_view.query(".notice.down").remove()  # said while it was down; no longer true
        self._check_target()
        wanted = self.resume_id or (self.conversation.id if self.conversation else None)
        self.query_one(Sidebar).show(conversations, wanted)
        found = [c for c in conversations if c.id == wanted]
        if found:
            await self._open(found[0])
        elif self.resume_id:
            await self.log_view.add(Notice(f"⚠ conversation {self.resume_id} is not on this server", "missing"))
        self.resume_id = None

    async def _error(self, exc: ChatError) -> None:
        await self.log_view.add(Notice(failure_text(Failed(exc.message, exc.kind), self.can_start), exc.kind))

    async def _disconnected(self, exc: ChatError) -> None:
        self.connected = False
        self.status.add_class("down")
        offer = " (ctrl+g starts the embedded distribution)" if self.can_start else ""
        self.status.server = f"no server at {self.client.url}{offer}" if exc.kind == "down" else exc.message
        await self._error(exc)

    def _check_target(self) -> None:
        model = self.settings.model
        ids = {t.id for t in self.targets}
        if model and model not in ids:
            self.notify(f"{model} is not on this server; pick one with ctrl+l", severity="warning", timeout=8)
        self.status.target = model or (self.targets[0].id if self.targets else "")

    async def _open(self, conversation: ConversationInfo) -> None:
        self.conversation = conversation
        self._check_target()  # its own model, or the server's first when it has none
        try:
            history = await self.client.history(conversation.id)
        except ChatError as exc:
            await self._error(exc)
            return
        await self.log_view.show(history)
        self.query_one(Sidebar).highlight(conversation.id)

    @on(Sidebar.Chosen)
    def _chosen(self, event: Sidebar.Chosen) -> None:
        self.resume(event.conversation_id)

    @work(exclusive=True, group="open")
    async def resume(self, conversation_id: str) -> None:
        found = [c for c in self.query_one(Sidebar).conversations if c.id == conversation_id]
        if found:
            await self._open(found[0])
            self.query_one(PromptInput).focus()

    # -- sending ------------------------------------------------------------------

    @on(Composer.Submitted)
    def _submitted(self, event: Composer.Submitted) -> None:
        if self.is_replying:
            self.notify("A reply is still coming; press escape to stop it first", severity="warning")
            return
        self.reply(event.text, event.attachments)

    @property
    def is_replying(self) -> bool:
        return any(w.group == "reply" and w.is_running for w in self.workers)

    @on(PromptInput.PathPasted)
    def _pasted(self, event: PromptInput.PathPasted) -> None:
        self.attach_path(event.text)

    @work(exclusive=True, group="reply")
    async def reply(self, text: str, attachments: tuple[Attachment, ...]) -> None:
        self.failed_message = None
        if not await self._ensure_conversation(text):
            self.failed_message = (text, attachments)
            return
        assert self.conversation is not None
        for block in self.log_view.waiting():
            block.expire()  # the server asks again if the model still wants the call
        inline = bool(getattr(self.app, "inline_images", False))
        await self.log_view.add(UserMessage(text, attachments, inline=inline))
        view = await self._stream(self.client.send(self.conversation.id, text, attachments, self.settings))
        self._after(view, (text, attachments))

    async def _stream(self, stream: AsyncGenerator[ReplyEvent, None]) -> ReplyView:
        """Show a reply as it comes; cancelling the worker stops it and keeps what came."""
        view = ReplyView(self.log_view, AssistantMessage(), self.can_start)
        await self.log_view.add(view.message)
        self.status.last = "generating… (escape stops)"
        try:
            async for event in stream:
                await view.show(event)
                self.log_view.scroll_end(animate=False)
        except asyncio.CancelledError:
            await stream.aclose()
            done = await view.stopped()
            self.status.last = f"stopped after {done.total_s:.1f} s"
            raise
        return view

    def _after(self, view: ReplyView, resend: tuple[str, tuple[Attachment, ...]] | None) -> None:
        """The status line after a reply; ``resend`` is the message ctrl+r sends again if it failed."""
        from herd.apps.chat.widgets.messages import stats_line

        outcome = view.outcome
        if isinstance(outcome, Finished) and self.log_view.waiting():
            self.status.last = "approval needed: f5 approves, f6 denies"
        elif isinstance(outcome, Finished):
            self.status.last = stats_line(outcome)
        elif isinstance(outcome, Failed):
            self.failed_message = resend
            self.status.last = "failed (ctrl+r retries)" if resend else "failed (f5 / f6 answer again)"
            if outcome.kind == "down":
                self.connected = False
                self.status.add_class("down")
        else:
            self.status.last = "blocked by a shield"

    async def _ensure_conversation(self, text: str) -> bool:
        if self.conversation is not None:
            return True
        title = " ".join(text.split())[:40] or UNTITLED
        try:
            self.conversation = await self.client.create_conversation(title, self.default)
            self.query_one(Sidebar).show(await self.client.conversations(), self.conversation.id)
        except ChatError as exc:
            await self._error(exc)
            return False
        return True

    # -- approvals ----------------------------------------------------------------

    def _busy(self) -> bool:
        if self.is_replying:
            self.notify("A reply is still coming; press escape to stop it first", severity="warning")
        return self.is_replying

    def _unanswered(self) -> ApprovalBlock | None:
        if self._busy():
            return None
        blocks = [b for b in self.log_view.waiting() if b.pending is None]
        if not blocks:
            self.notify("No tool call waits for your approval", severity="warning")
        return blocks[0] if blocks else None

    def action_approve(self) -> None:
        if (block := self._unanswered()) is not None:
            self._answer(block, True)

    def action_deny(self) -> None:
        if (block := self._unanswered()) is not None:
            self._answer(block, False)

    def _answer(self, block: ApprovalBlock, approve: bool) -> None:
        """Approve the call, or ask why it is denied; then keep the answer."""
        if approve:
            self._choose(block, Decision(block.request, True))
            return
        question = f"Deny {block.request.label}: why? (told to the model; may be left empty)"
        self.app.push_screen(
            TextScreen(question, placeholder="e.g. not that file"),
            lambda reason: None if reason is None else self._choose(block, Decision(block.request, False, reason)),
        )

    @on(ApprovalBlock.Decided)
    def _decided(self, event: ApprovalBlock.Decided) -> None:
        event.stop()
        block = event.block
        if block.waiting and block.pending is None and not self._busy():
            self._answer(block, event.approve)

    def _choose(self, block: ApprovalBlock, decision: Decision) -> None:
        """Keep the answer; once every waiting call has one, send them all."""
        block.choose(decision)
        waiting = self.log_view.waiting()
        if all(b.pending is not None for b in waiting):
            self.answer(tuple((b, b.pending) for b in waiting if b.pending is not None))

    @work(exclusive=True, group="reply")
    async def answer(self, chosen: tuple[tuple[ApprovalBlock, Decision], ...]) -> None:
        if self.conversation is None:
            return
        decisions = [d for _b, d in chosen]
        try:
            view = await self._stream(self.client.decide(self.conversation.id, decisions, self.settings))
        except asyncio.CancelledError:
            for block, decision in chosen:  # stopped: the answers were sent, and the client keeps them
                block.decided(decision)
            raise
        failed = isinstance(view.outcome, Failed)
        for block, decision in chosen:
            if failed:
                block.reopen()  # asked again: f5 / f6 send the answers anew
            else:
                block.decided(decision)
        self._after(view, None)  # nothing for ctrl+r to resend: the calls wait again

    # -- actions ------------------------------------------------------------------

    def action_stop(self) -> None:
        if self.is_replying:
            self.workers.cancel_group(self, "reply")
        elif isinstance(self.focused, PromptInput) is False:
            self.query_one(PromptInput).focus()

    async def action_new(self) -> None:
        if self.is_replying:
            self.workers.cancel_group(self, "reply")
        self.conversation = None
        self.status.target = self.default.model or (self.targets[0].id if self.targets else "")
        await self.log_view.show([])
        self.query_one(PromptInput).focus()

    def action_rename(self) -> None:
        if self.conversation is None:
            self.notify("Send a message first: a conversation starts with it", severity="warning")
            return
        check = lambda v: None if v.strip() else "type a title"  # noqa: E731
        screen = TextScreen("Rename the conversation", self.conversation.title, check=check)
        self.app.push_screen(screen, self._renamed)

    async def _renamed(self, title: str | None) -> None:
        if title is not None and self.conversation is not None:
            await self._save(title.strip(), self.conversation.settings)

    async def _save(self, title: str, settings: Settings) -> None:
        assert self.conversation is not None
        try:
            self.conversation = await self.client.update_conversation(self.conversation.id, title, settings)
            self.query_one(Sidebar).show(await self.client.conversations(), self.conversation.id)
        except ChatError as exc:
            self.notify(f"Not saved: {exc.message}", severity="error", timeout=8)
            return
        self._check_target()

    def action_delete(self) -> None:
        if self.conversation is None:
            self.notify("No conversation is open", severity="warning")
            return
        question = f"Delete “{self.conversation.title}” from the server? This cannot be undone."
        self.app.push_screen(ConfirmScreen(question), self._deleted)

    async def _deleted(self, yes: bool | None) -> None:
        if not yes or self.conversation is None:
            return
        try:
            await self.client.delete_conversation(self.conversation.id)
            conversations = await self.client.conversations()
        except ChatError as exc:
            self.notify(f"Not deleted: {exc.message}", severity="error", timeout=8)
            return
        self.notify(f"Deleted “{self.conversation.title}”")
        self.conversation = None
        self.query_one(Sidebar).show(conversations, None)
        await self.log_view.show([])

    def action_attach(self) -> None:
        def check(value: str) -> str | None:
            try:
                images.load(value)
            except images.AttachmentError as exc:
                return str(exc)
            return None

        screen = TextScreen("Attach an image: its path (PNG, JPEG or WebP)", placeholder="~/chart.png", check=check)
        self.app.push_screen(screen, lambda v: self.attach_path(v) if v else None)

    def attach_path(self, text: str) -> None:
        try:
            attachment = images.load(text)
        except images.AttachmentError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.query_one(Composer).attach(attachment)
        self.notify(f"Attached {images.describe(attachment)}")

    def action_pick(self) -> None:
        if not self.targets:
            self.notify("The server lists no models or agents yet (ctrl+r reconnects)", severity="warning")
            return
        choices = [
            (t.id, f"{t.kind}: {t.id}" + (f" — {t.description[:50]}" if t.description else "")) for t in self.targets
        ]
        current = self.settings.model or self.targets[0].id
        self.app.push_screen(ChoiceScreen("Talk to", choices, current), self._picked)

    async def _picked(self, target: str | None) -> None:
        if target is None:
            return
        await self._apply(Settings(target, self.settings.instructions, self.settings.temperature))

    async def _apply(self, settings: Settings) -> None:
        if self.conversation is None:
            self.default = settings
            self._check_target()
            return
        await self._save(self.conversation.title, settings)

    def action_settings(self) -> None:
        self.app.push_screen(SettingsScreen(self.settings, self.targets), self._settings_saved)

    async def _settings_saved(self, settings: Settings | None) -> None:
        if settings is not None:
            await self._apply(settings)

    def action_sidebar(self) -> None:
        self.query_one(Sidebar).toggle_class("hidden")

    def action_retry(self) -> None:
        self.retry()

    @work(exclusive=True, group="retry")
    async def retry(self) -> None:
        """Reconnect if needed, then resend the message that failed (never both at once: a reconnect
        reloads the conversation, which would remove a reply streaming meanwhile)."""
        pending, self.failed_message = self.failed_message, None
        if not self.connected:
            self.resume_id = self.conversation.id if self.conversation else None
            await self.connect().wait()
        if pending is not None and self.connected:
            self.reply(*pending)
        elif pending is not None:
            self.failed_message = pending

    def action_start_server(self) -> None:
        start = getattr(self.app, "start_embedded", None)
        if self.connected:
            self.notify(f"A server already answers at {self.client.url}")
        elif start is None:
            self.notify("This app was started with --no-start: start a server with `herd run`", severity="warning")
        else:
            start()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen([(k, help_text) for k, _a, _l, help_text in ACTIONS]))

    @on(CitationList.Opened)
    def _citation(self, event: CitationList.Opened) -> None:
        self.app.push_screen(CitationScreen(event.citation, self.client))
