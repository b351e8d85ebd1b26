"""The incremental reader: feed text deltas, get back the prose that is safe to show now.

Plain text passes through as it comes; from the first place a call may start it is
held until the reader can tell (see ``scan.py``), then let through if it was prose.
Blanks at the end of the text so far are held too, since they go if a call follows.
The final result equals ``normalise`` on the whole text, however it was split.
"""

from typing import Any

from .forcing import ToolDict
from .normalise import Catalog, Reading, assemble, read
from .scan import cut
from .types import Normalised


class CallReader:
    def __init__(self, tools: list[ToolDict], json_reply: bool = False) -> None:
        self.catalog = Catalog(tools, json_reply)
        self.text = ""
        self.pos = 0
        self.readings: list[Reading] = []
        self.prose = ""  # the text of pieces settled as prose, in order
        self.sent = 0  # characters of content handed out so far
        self.result: Normalised | None = None

    def feed(self, delta: str) -> str:
        """Take the next piece of the reply; returns the content that can be shown now."""
        self.text += delta
        self._settle(final=False)
        shown = self.prose.lstrip().rstrip()
        return self._hand_out(shown)

    def finish(self, native: list[dict[str, Any]] | None = None) -> str:
        """The reply is complete: returns the rest of the content; the result is in ``self.result``.

        ``native``: calls the engine returned already structured (OpenAI-shaped).
        """
        self._settle(final=True)
        self.result = assemble(self.readings, self.catalog, self.text, native or [])
        return self._hand_out(self.result.content or "")

    def unsent(self) -> str:
        """The reply's own text that was not handed out, in order: what to show when its calls fail."""
        skip = self.sent + len(self.prose) - len(self.prose.lstrip())
        out: list[str] = []
        for piece, found in self.readings:
            if found is None:
                taken = min(skip, len(piece.raw))
                skip -= taken
                out.append(piece.raw[taken:])
            else:
                out.append(piece.raw)
        return "".join(out).rstrip()

    def _settle(self, final: bool) -> None:
        pieces, self.pos = cut(self.text, self.pos, self.catalog.names, final)
        for piece in pieces:
            reading = read(piece, self.catalog)
            self.readings.append(reading)
            if reading[1] is None:
                self.prose += piece.raw

    def _hand_out(self, shown: str) -> str:
        out = shown[self.sent :]
        self.sent = max(self.sent, len(shown))
        return out
