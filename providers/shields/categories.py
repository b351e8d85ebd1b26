"""Llama Guard 3 hazard categories per variant, and how they map to OpenAI moderation categories.

Only Llama Guard 3 8B was trained on S14 (Code Interpreter Abuse); the 1B and
11B-Vision models know S1-S13. Codes keep their numbers when some are excluded: the
models learned the codes, so renumbering would change what a code means to them.

OpenAI's moderation schema has fixed category names. A Llama Guard code maps to the
closest one where there is one; the others (defamation, specialized advice, privacy,
intellectual property, elections, code interpreter abuse) and the prompt-attack
categories of the offline shield are reported under Herd's own names, next to
OpenAI's. The table below is the documented mapping (README "Shields").
"""

from collections.abc import Sequence
from typing import Literal

Variant = Literal["1b", "8b", "11b-vision"]

# Category names as the Llama Guard 3 model cards and chat templates write them.
NAMES: dict[str, str] = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex Crimes",
    "S4": "Child Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}

_S1_S13 = tuple(f"S{i}" for i in range(1, 14))
VARIANT_CODES: dict[str, tuple[str, ...]] = {"1b": _S1_S13, "8b": (*_S1_S13, "S14"), "11b-vision": _S1_S13}

OPENAI_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

# Llama Guard code -> the moderation category it is reported under.
TO_MODERATION: dict[str, str] = {
    "S1": "violence",
    "S2": "illicit",
    "S3": "sexual",
    "S4": "sexual/minors",
    "S5": "defamation",
    "S6": "specialized-advice",
    "S7": "privacy",
    "S8": "intellectual-property",
    "S9": "illicit/violent",
    "S10": "hate",
    "S11": "self-harm",
    "S12": "sexual",
    "S13": "elections",
    "S14": "code-interpreter-abuse",
}


def moderation_name(category: str) -> str:
    """The moderation category for a shield category: Llama Guard codes mapped, others as they are."""
    return TO_MODERATION.get(category, category)


def offered(variant: Variant, excluded: Sequence[str]) -> tuple[str, ...]:
    """The codes a variant's prompt lists, in order, without the excluded ones."""
    return tuple(code for code in VARIANT_CODES[variant] if code not in excluded)
