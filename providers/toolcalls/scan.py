"""Where calls may sit in a reply: the text cut into prose and call candidates.

A candidate starts at ``<tool_call>``, ``<|python_tag|>`` or a code fence anywhere, or
at a line that begins with ``{``, ``[`` or a declared name followed by ``(`` (unless
words follow the call on that line: then it is a sentence that names a function). The cut
depends only on the text, never on how it arrived: with ``final=False`` ``cut`` returns
only pieces no continuation could change, and stops where a candidate (or a marker
split across chunks) is not yet complete. Whether a candidate is a call is decided
later, from its text alone.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass

TAG_OPEN, TAG_CLOSE, PYTHON_TAG, FENCE = "<tool_call>", "</tool_call>", "<|python_tag|>", "```"
_MARKERS = ((TAG_OPEN, "tagged"), (PYTHON_TAG, "python_tag"), (FENCE, "fenced"))
_WORD = re.compile(r"[A-Za-z_]\w*")
_SEPARATOR = re.compile(r"[ \t]*[,;][ \t]*")
PROSE = -2  # what _closing says when a candidate turned out to be the start of a sentence
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
# A single quote opens a Python string only after these (so prose's "don't" does not).
_QUOTE_AFTER = set("=([{,:")


@dataclass(frozen=True)
class Piece:
    kind: str  # "text", or where a call may be: "tagged", "python_tag", "fenced", "bare"
    raw: str


def cut(text: str, pos: int, names: Collection[str], final: bool) -> tuple[list[Piece], int]:
    """Pieces of ``text[pos:]`` that are settled, and where the unsettled rest starts."""
    pieces: list[Piece] = []
    start = i = pos
    fresh = text[text.rfind("\n", 0, pos) + 1 : pos].strip() == ""  # only blanks since the line began
    while i < len(text):
        kind = _opening(text, i, fresh, names, final)
        if kind == "wait":
            break
        end = _closing(kind, text, i, names, final) if kind else i + 1
        if end is None:
            break
        if end == PROSE:
            kind, end = None, i + 1
        if kind:
            if start < i:
                pieces.append(Piece("text", text[start:i]))
            pieces.append(Piece(kind, text[i:end]))
            start = end
            fresh = text[text.rfind("\n", 0, end) + 1 : end].strip() == ""
        else:
            fresh = text[i] == "\n" or (fresh and text[i].isspace())
        i = end
    if start < i:
        pieces.append(Piece("text", text[start:i]))
    return pieces, i


def _opening(text: str, i: int, fresh: bool, names: Collection[str], final: bool) -> str | None:
    """The kind of candidate starting at ``i``, "wait" when too little text has come to tell, or None."""
    rest = text[i : i + len(PYTHON_TAG)]
    for marker, kind in _MARKERS:
        if rest.startswith(marker):
            return kind
        if not final and len(rest) < len(marker) and marker.startswith(rest):
            return "wait"
    if not fresh or text[i].isspace():
        return None
    if text[i] in "{[":
        return "bare"
    word = _WORD.match(text, i)
    if word is None:
        return None
    after = word.end()
    if after == len(text) and not final and any(n.startswith(word.group()) for n in names):
        return "wait"
    return "bare" if word.group() in names and text.startswith("(", after) else None


def _closing(kind: str, text: str, i: int, names: Collection[str], final: bool) -> int | None:
    """Where the candidate starting at ``i`` ends, or None when that is not known yet."""
    end: int | None
    if kind == "tagged":
        found = [p for p in (_after(text, TAG_CLOSE, i + len(TAG_OPEN)), text.find(TAG_OPEN, i + 1)) if p > 0]
        end = min(found) if found else None
    elif kind == "python_tag":
        end = None  # runs to the end of the reply
    elif kind == "fenced":
        end = _after(text, FENCE, i + len(FENCE))
        end = end if end > 0 else None
    elif text[i] in "{[":
        end = balanced(text, i)
    else:
        end = _calls_end(text, i, names, final)
        if end == -1:
            return None
        if end == PROSE:
            return PROSE
    return end if end is not None else (len(text) if final else None)


def _after(text: str, marker: str, start: int) -> int:
    found = text.find(marker, start)
    return found + len(marker) if found >= 0 else -1


def _calls_end(text: str, i: int, names: Collection[str], final: bool) -> int | None:
    """End of a line of calls ``a(...)`` or ``a(...), b(...)``: -1 while the line may go on, PROSE if prose does."""
    while True:
        end = balanced(text, _WORD.match(text, i).end())  # type: ignore[union-attr]  # _opening matched a word
        if end is None:
            return None
        sep = _SEPARATOR.match(text, end)
        tail = text[sep.end() :] if sep else ""
        word = _WORD.match(tail) if sep else None
        if sep and word and word.group() in names and tail.startswith("(", word.end()):
            i = sep.end()
            continue
        line = text[end:].split("\n", 1)[0]
        unfinished = len(line) == len(text) - end and not final
        if line.strip(" \t,;"):  # words after the call: a sentence that begins with a function's name
            arriving = word is not None and word.end() == len(tail) and any(n.startswith(word.group()) for n in names)
            return -1 if unfinished and arriving else PROSE
        return -1 if unfinished else end + len(line)


def balanced(text: str, i: int) -> int | None:
    """End of the bracketed value opening at ``text[i]`` (quote-aware), or None if it never closes."""
    stack: list[str] = []
    quote = ""
    j = i
    while j < len(text):
        c = text[j]
        if quote:
            if c == "\\":
                j += 1
            elif c == quote:
                quote = ""
        elif c == '"' or (c == "'" and _before(text, j) in _QUOTE_AFTER):
            quote = c
        elif c in _CLOSERS:
            stack.append(_CLOSERS[c])
        elif c in ")]}":
            expected = stack.pop() if stack else ""
            if c != expected or not stack:  # closed, or closed by the wrong bracket: either way it ends here
                return j + 1
        j += 1
    return None


def _before(text: str, j: int) -> str:
    """The last non-blank character before ``j``."""
    j -= 1
    while j >= 0 and text[j] in " \t\n":
        j -= 1
    return text[j] if j >= 0 else ""
