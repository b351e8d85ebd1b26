"""What a reply with tools comes to: its calls, one repaired call, or the model's own text.

A call to a declared function whose arguments fail the schema (or cannot be read) is
asked for once more with the request constrained to that function's call schema. If
that fails too, or more than one call was bad, the reply is the model's text with
finish_reason "stop" ("length" when max_tokens cut it) and the reasons go to the log:
llama-stack's response models drop fields they do not declare, so a reason cannot
travel in the reply itself.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .forcing import ToolDict, named_choice
from .guesses import is_guess, trim
from .history import History
from .normalise import normalise
from .repeats import new_calls
from .types import InvalidCall, Normalised

log = logging.getLogger("herd.toolcalls")

# Runs the request again constrained by the given tool_choice; returns an OpenAI-shaped chat completion.
Retry = Callable[[Any], Awaitable[dict[str, Any]]]


@dataclass
class Outcome:
    content: str | None
    calls: list[dict[str, Any]]
    finish_reason: str
    usage: dict[str, Any] | None = None  # the retry's tokens, to add to the reply's
    failed: list[str] = field(default_factory=list)  # why the calls were given up, when they were
    answer: bool = False  # the content is a new answer (asked for with tools off), not the first reply's text

    @property
    def gave_up(self) -> bool:
        return bool(self.failed)


async def settle(
    found: Normalised,
    tools: list[ToolDict],
    retry: Retry | None,
    finish_reason: str | None,
    history: History | None = None,
) -> Outcome:
    """What the reply comes to, given what the conversation before it says (``history``).

    Without ``retry`` (a forced call), calls are only checked and trimmed: the
    request demands a call, so none is dropped.
    """
    usage = None
    written = found.text.strip() or "\n".join(i.arguments for i in found.invalid)  # the engine's own calls had no text
    if found.invalid and retry is not None:
        bad = found.invalid[0]
        reply = await retry(named_choice(bad.name))
        usage = reply.get("usage")
        repaired = read_forced(reply, tools)
        if repaired.calls:
            found = replace(found, calls=[*found.calls, *repaired.calls], invalid=found.invalid[1:])
        else:
            found = replace(found, invalid=[*found.invalid, *repaired.invalid])
    if found.invalid:
        reasons = [i.reason for i in found.invalid]
        log.warning("tool calls given up, the reply goes out as text: %s", "; ".join(reasons))
        finish = "length" if finish_reason == "length" else "stop"
        return Outcome(written or None, [], finish, usage, reasons)
    if history is not None and history.judge_guesses:
        found = replace(found, calls=[_trimmed(c, history) for c in found.calls])
    if history is not None and retry is not None:
        kept = _worth_running(found.calls, history)
        if (found.calls and not kept) or (found.stray and not found.calls):
            why = (
                f"the model called {found.stray}, which are not declared" if found.stray else "no call is worth running"
            )
            return await _answer_without_tools(found, retry, usage, why)
        found = replace(found, calls=kept)
    elif found.stray and not found.calls:  # no way to ask again: the text as written is all there is
        found = replace(found, content=found.text.strip() or None)
    if found.calls:
        return Outcome(found.content, found.calls, "tool_calls", usage)
    return Outcome(found.content, [], finish_reason or "stop", usage)


def _trimmed(call: dict[str, Any], history: History) -> dict[str, Any]:
    name = call["function"]["name"]
    arguments = trim(json.loads(call["function"]["arguments"]), history.schemas.get(name), history)
    return {**call, "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}


def _worth_running(calls: list[dict[str, Any]], history: History) -> list[dict[str, Any]]:
    """The calls left once repeats of answered calls and guesses are dropped (see ``repeats``, ``guesses``)."""
    fresh = new_calls(calls, history.answered, history.schemas)
    kept = []
    for call in fresh:
        name = call["function"]["name"]
        arguments = json.loads(call["function"]["arguments"])
        if history.judge_guesses and is_guess(arguments, history.schemas.get(name), history):
            log.info("dropped a guessed call: %s(%s)", name, call["function"]["arguments"])
            continue
        kept.append(call)
    return kept


async def _answer_without_tools(found: Normalised, retry: Retry, usage: dict[str, Any] | None, why: str) -> Outcome:
    log.info("%s; asking for the answer with tools off", why)
    reply = await retry("none")
    choice = reply["choices"][0]
    text = (choice.get("message") or {}).get("content") or found.content
    return Outcome(text, [], choice.get("finish_reason") or "stop", add_usage(usage, reply.get("usage")), answer=True)


def read_forced(reply: dict[str, Any], tools: list[ToolDict]) -> Normalised:
    """The call in a reply constrained to a call schema (or parsed by the engine), checked."""
    choice = reply["choices"][0]
    message = choice.get("message") or {}
    text = message.get("content") or ""
    found = normalise(text, tools, native=message.get("tool_calls") or ())
    if found.calls and not found.invalid:
        return found
    why = found.invalid[0].reason if found.invalid else f"no call in {json.dumps(text[:200])}"
    if choice.get("finish_reason") == "length":
        why += " (cut by max_tokens)"
    return Normalised(None, [], [InvalidCall(None, text, f"the constrained retry failed too: {why}")], text)


def add_usage(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    """Token counts of a reply and its retry, together."""
    if not first or not second:
        return first or second
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {**first, **{k: (first.get(k) or 0) + (second.get(k) or 0) for k in keys}}
