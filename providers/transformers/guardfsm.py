"""Llama Guard's answer format as a decoding constraint: ``safe``, or ``unsafe`` and a line of codes.

A model of kind ``guard`` answers constrained to this, with the codes its prompt offers,
so its answer always parses (``providers/shields/llama_guard.parse``); a real Llama Guard
3 writes this format anyway. Same interface as ``jsonfsm.JsonState``.
"""

import re

_CODES = re.compile(r"^(S\d+): ", re.M)
_LEAD = 2  # blank chars (the "\n\n" Llama Guard writes first) allowed before the answer


def offered_codes(prompt: str) -> tuple[str, ...]:
    """The category codes a Llama Guard prompt lists (``S1: Violent Crimes.`` lines)."""
    block = prompt.split("<BEGIN UNSAFE CONTENT CATEGORIES>", 1)[-1].split("<END UNSAFE CONTENT CATEGORIES>", 1)[0]
    return tuple(_CODES.findall(block + " ")) or tuple(f"S{i}" for i in range(1, 15))


class GuardState:
    __slots__ = ("codes", "text")

    def __init__(self, codes: tuple[str, ...], text: str = "") -> None:
        self.codes = codes
        self.text = text

    def _ok(self, text: str) -> bool:
        body = text.lstrip("\n ")
        if len(text) - len(body) > _LEAD:
            return False
        if "safe".startswith(body) or "unsafe\n".startswith(body):
            return True
        if not body.startswith("unsafe\n"):
            return False
        codes = body.removeprefix("unsafe\n").split(",")
        whole, last = codes[:-1], codes[-1]
        if any(c not in self.codes for c in whole) or len(set(whole)) != len(whole):
            return False
        return any(c.startswith(last) and c not in whole for c in self.codes)

    def feed(self, text: str) -> "GuardState | None":
        joined = self.text + text
        return GuardState(self.codes, joined) if self._ok(joined) else None

    @property
    def complete(self) -> bool:
        body = self.text.lstrip("\n ")
        if body == "safe":
            return True
        codes = body.removeprefix("unsafe\n").split(",") if body.startswith("unsafe\n") else []
        return bool(codes) and all(c in self.codes for c in codes)

    @property
    def closed(self) -> bool:
        return self.text.lstrip("\n ") == "safe"

    def cost(self) -> int:
        body = self.text.lstrip("\n ")
        if self.complete:
            return 0
        if "safe".startswith(body) and not body.startswith("u"):
            return 4 - len(body)
        if "unsafe\n".startswith(body):
            return 7 - len(body) + 2
        last = body.removeprefix("unsafe\n").split(",")[-1]
        return min(len(c) - len(last) for c in self.codes if c.startswith(last))
