"""Block and allow lists and PII patterns of an offline shield.

PII patterns favour precision: a card number must pass the Luhn check, an IBAN its
mod-97 check, a phone number needs 9-15 digits in a phone-like shape. Redaction
replaces each match with ``[kind]``.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from .config import PiiKind, Rules

_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.I),
    "credit-card": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
    "us-ssn": re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
    "phone": re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){2,4}(?!\w)"),
    "ipv4": re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
    "secret-key": re.compile(
        r"\b(?:sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abp]-[\w-]{10,})\b"
    ),
}


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _iban(text: str) -> bool:
    compact = text.replace(" ", "")
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _phone(text: str) -> bool:
    return 9 <= sum(ch.isdigit() for ch in text) <= 15


_CHECKS: dict[str, Callable[[str], bool]] = {
    "credit-card": lambda m: 13 <= len(d := re.sub(r"\D", "", m)) <= 19 and _luhn(d),
    "iban": _iban,
    "phone": _phone,
}


@dataclass(frozen=True)
class RulesResult:
    blocked_by: str | None  # the block pattern that matched
    allowed: bool  # an allow pattern matched
    pii: tuple[str, ...]  # kinds found
    redacted: str  # the text with the PII replaced


def find_pii(text: str, kinds: list[PiiKind]) -> tuple[tuple[str, ...], str]:
    """The kinds found in ``text``, and ``text`` with each match replaced by ``[kind]``."""
    found: list[str] = []
    # Card numbers and IBANs before phone numbers: their digits look like a phone too.
    for kind in sorted(kinds, key=lambda k: k == "phone"):
        check = _CHECKS.get(kind, lambda _m: True)

        def replace(match: re.Match[str], kind: str = kind, check: Callable[[str], bool] = check) -> str:
            if not check(match.group(0)):
                return match.group(0)
            found.append(kind)
            return f"[{kind}]"

        text = _PATTERNS[kind].sub(replace, text)
    return tuple(dict.fromkeys(found)), text


class CompiledRules:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.block = [re.compile(p, re.I) for p in rules.block]
        self.allow = [re.compile(p, re.I) for p in rules.allow]

    def apply(self, text: str) -> RulesResult:
        blocked = next((p.pattern for p in self.block if p.search(text)), None)
        allowed = any(p.search(text) for p in self.allow)
        pii, redacted = find_pii(text, self.rules.pii) if self.rules.pii else ((), text)
        return RulesResult(blocked, allowed, pii, redacted)
