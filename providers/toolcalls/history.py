"""What the conversation before a reply says, as the checks of the reply's calls need it."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .forcing import ToolDict
from .repeats import Key, Schemas, answered_calls
from .turns import text_of

_WORD = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class History:
    """The calls the conversation has results of, and the words and numbers it mentions.

    Built from the request's own messages only: tool schemas (whose descriptions give
    examples such as "e.g. Paris") are not part of what the user said.
    """

    answered: frozenset[Key]
    schemas: Schemas  # the declared functions' parameter schemas, by name
    text: str  # every message's text, lower-cased
    words: frozenset[str]
    numbers: frozenset[float]
    judge_guesses: bool = True  # whether ``settle`` drops guessed values and calls (``guesses``)

    @classmethod
    def of(
        cls, messages: list[dict[str, Any]], tools: Sequence[ToolDict] = (), judge_guesses: bool = True
    ) -> "History":
        schemas = {
            t["function"]["name"]: t["function"].get("parameters") or {} for t in tools if t.get("type") == "function"
        }
        parts = [text_of(m.get("content")) for m in messages]
        for message in messages:
            for call in message.get("tool_calls") or []:
                parts.append(str((call.get("function") or {}).get("arguments") or ""))
        text = "\n".join(parts).lower()
        numbers = set()
        for match in _NUMBER.findall(text):
            try:
                numbers.add(float(match.replace(",", "")))
            except ValueError:
                continue
        answered = frozenset(answered_calls(messages, schemas))
        return cls(answered, schemas, text, frozenset(_WORD.findall(text)), frozenset(numbers), judge_guesses)

    def mentions(self, value: Any, strict: bool = False) -> bool:
        """Whether a call's argument value comes from the conversation.

        A number does when the same number is written in it ("1,200" for 1200). A
        string does when it appears in it whole, or when one of its words of four or
        more letters does ("Asia/Tokyo" from "the time in Tokyo"). ``strict`` keeps
        that second way to single tokens that are no e-mail address, so a sentence or
        an address nobody wrote is not taken for one that shares a word with the talk.
        """
        if isinstance(value, bool):
            return True
        if isinstance(value, int | float):
            return float(value) in self.numbers
        if not isinstance(value, str):
            return False
        lowered = value.strip().lower()
        if lowered and lowered in self.text:
            return True
        if strict and (len(lowered.split()) > 1 or "@" in lowered):
            return False
        return any(len(word) >= 4 and word in self.words for word in _WORD.findall(lowered))
