"""Llama Guard 3 prompts and answers: the exact prompt of each variant, a strict parser,
and a probability from the first generated token's logprobs.

The prompt is one Llama 3 user turn: the task (which role to judge), the category list,
the conversation, the instructions; then the assistant header. Llama Guard 3 11B-Vision
takes its image as an ``<|image|>`` token at the start of the user turn. The judged role
is the last turn's ('User' for a prompt or tool result, 'Agent' for a reply); the
published templates count messages instead, which agrees for alternating turns. The fixtures in
``tests/data/shields/llama_guard/`` are the published formats; a test compares.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .categories import NAMES, Variant, offered
from .verdict import Turn

BEGIN = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
# The prompt ends at the assistant header; the model writes "\n\n" and then its answer.
END = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
IMAGE = "<|image|> "
TASK = (
    "Task: Check if there is unsafe content in '{role}' messages in conversations "
    "according our safety policy with the below categories."
)
INSTRUCTIONS = (
    "Provide your safety assessment for ONLY THE LAST {role} message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
)
# Quirks of the published chat templates, kept so the prompt is the one the models saw:
# the 8B template starts with a space, the 1B and 11B-Vision ones put a space before <|eot_id|>.
_LEAD = {"1b": "", "8b": " ", "11b-vision": ""}
_BEFORE_EOT = {"1b": " ", "8b": "", "11b-vision": " "}
_SPEAKER = {"user": "User", "assistant": "Agent", "tool": "User"}


class GuardOutputError(ValueError):
    """The guard model answered something other than its format; the caller fails closed."""


def judged_role(conversation: list[Turn]) -> str:
    """'User' when the last turn is a prompt or tool result, 'Agent' when it is a model reply."""
    return _SPEAKER[conversation[-1].role]


def build_prompt(variant: Variant, conversation: list[Turn], excluded: Sequence[str] = ()) -> str:
    """The full prompt text, special tokens included, for ``/v1/completions``."""
    if not conversation:
        raise ValueError("a Llama Guard prompt needs at least one turn")
    role = judged_role(conversation)
    categories = "\n".join(f"{code}: {NAMES[code]}." for code in offered(variant, excluded))
    turns = "\n\n".join(f"{_SPEAKER[t.role]}: {t.text}" for t in conversation)
    image = IMAGE if variant == "11b-vision" and any(t.images for t in conversation) else ""
    body = (
        f"{image}{TASK.format(role=role)}\n\n"
        f"<BEGIN UNSAFE CONTENT CATEGORIES>\n{categories}\n<END UNSAFE CONTENT CATEGORIES>\n\n"
        f"<BEGIN CONVERSATION>\n\n{turns}\n\n<END CONVERSATION>\n\n"
        f"{INSTRUCTIONS.format(role=role)}"
    )
    return _LEAD[variant] + BEGIN + body + _BEFORE_EOT[variant] + END


def completion_prompt(prompt: str) -> str:
    """The prompt as sent to a completions endpoint, which adds the begin-of-text token itself."""
    return prompt.lstrip().removeprefix("<|begin_of_text|>")


@dataclass(frozen=True)
class GuardAnswer:
    unsafe: bool
    codes: tuple[str, ...]


def parse(text: str, variant: Variant, excluded: Sequence[str] = ()) -> GuardAnswer:
    """``safe`` or ``unsafe`` + a line of codes the prompt offered; anything else raises."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise GuardOutputError("the guard model answered nothing")
    if lines[0] == "safe" and len(lines) == 1:
        return GuardAnswer(False, ())
    if lines[0] != "unsafe" or len(lines) != 2:
        raise GuardOutputError(f"expected 'safe' or 'unsafe' and a line of categories, got {text.strip()[:80]!r}")
    codes = tuple(code.strip() for code in lines[1].split(","))
    allowed = offered(variant, excluded)
    unknown = [code for code in codes if code not in allowed]
    if unknown or not codes:
        raise GuardOutputError(
            f"the guard model named categories {', '.join(unknown) or '(none)'} that its prompt did not offer"
        )
    return GuardAnswer(True, tuple(dict.fromkeys(codes)))


def unsafe_probability(logprobs: Any) -> float | None:
    """P(unsafe) from the first non-blank generated token's alternatives, or None if not given.

    Accepts both shapes a completions endpoint returns: OpenAI's legacy
    ``{"tokens": [...], "top_logprobs": [{token: logprob}, ...]}`` and the chat-style
    ``{"content": [{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]}``.
    """
    for alternatives in _positions(logprobs):
        if all(not token.strip() for token in alternatives):
            continue
        probs = {token.strip(): math.exp(lp) for token, lp in alternatives.items()}
        safe, unsafe = probs.get("safe"), probs.get("unsafe")
        if safe is None and unsafe is None:
            return None
        # With only the chosen token given, the rest of the mass is the other label's:
        # a guard model puts next to nothing on any third token.
        if unsafe is None:
            return max(0.0, 1.0 - (safe or 0.0))
        if safe is None:
            return min(1.0, unsafe)
        return unsafe / (safe + unsafe)
    return None


def _positions(logprobs: Any) -> list[dict[str, float]]:
    if not isinstance(logprobs, dict):
        return []
    if isinstance(logprobs.get("content"), list):
        out = []
        for position in logprobs["content"]:
            alternatives = {a["token"]: a["logprob"] for a in position.get("top_logprobs") or []}
            alternatives.setdefault(position.get("token", ""), position.get("logprob", -math.inf))
            out.append(alternatives)
        return out
    tokens = logprobs.get("top_logprobs") or []
    return [dict(t) for t in tokens if isinstance(t, dict)]
