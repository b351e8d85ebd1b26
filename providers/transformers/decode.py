"""One sequence being decoded: its sampling settings, its constraint, its text so far, and its events.

A ``Job`` is created on the event loop and advanced on the batcher's thread; it reports
through ``emit`` (text deltas, then one ``done``). Sampling is per job: temperature and
top_p, and a seeded generator of its own, so a seed gives the same reply whatever else
shares the batch. A constrained job (a forced tool call, a JSON schema) takes, in the
order sampling ranks them, the first token whose text keeps the reply a valid prefix
that ``max_tokens`` can still close (Gumbel-max: with the noise drawn once per step, the
first allowed token in that order is an exact sample of the masked distribution).
"""

import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .jsonfsm import JsonState

Event = dict[str, Any]
_FIRST = 64  # candidates tried before the whole vocabulary is ranked


@dataclass
class Settings:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    top_logprobs: int | None = None  # None: no logprobs; 0: the chosen token's only
    schema: dict[str, Any] | None = None
    grammar: Any = None  # a ready constraint state (guardfsm.GuardState) when there is no schema


@dataclass(eq=False)  # compared by identity: a job is one request
class Job:
    inputs: dict[str, Any]  # batch-of-one model inputs on CPU (input_ids, maybe vision tensors)
    settings: Settings
    emit: Callable[[Event], None]
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    sent: int = 0  # characters of text already emitted
    logprobs: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    state: Any = None  # JsonState or GuardState: feed, complete, closed, cost
    offsets: tuple[int, int] = (0, 0)  # incremental detokenising: the tokens before the last settled text
    generator: Any = None

    def __post_init__(self) -> None:
        if self.settings.schema is not None:
            self.state = JsonState.start(self.settings.schema)
        elif self.settings.grammar is not None:
            self.state = self.settings.grammar

    @property
    def prompt_tokens(self) -> int:
        return int(self.inputs["input_ids"].shape[1])

    @property
    def has_images(self) -> bool:
        return "pixel_values" in self.inputs


def choose(job: Job, logits: Any, loaded: Any, greedy: int) -> int | None:
    """The next token of ``job`` from its row of logits (float32, on the model's device); None: stop now.

    ``greedy`` is the row's argmax, computed for the whole batch at once.
    """
    import torch

    s = job.settings
    if s.temperature <= 0 and job.state is None:
        return greedy
    scores = logits
    if s.temperature > 0:
        scores = logits / s.temperature
        if s.top_p < 1.0:
            scores = _top_p(scores, s.top_p)
        if job.generator is None:
            job.generator = torch.Generator().manual_seed(s.seed if s.seed is not None else secrets.randbits(63))
        uniform = torch.rand(scores.shape[-1], generator=job.generator).clamp_(1e-20, 1.0)
        scores = scores - torch.log(-torch.log(uniform)).to(scores.device)
    if job.state is None:
        return int(torch.argmax(scores))
    return _constrained(job, scores, loaded)


def _top_p(scores: Any, top_p: float) -> Any:
    import torch

    ordered, index = torch.sort(scores, descending=True)
    cumulative = torch.softmax(ordered, dim=-1).cumsum(-1)
    drop = cumulative - torch.softmax(ordered, dim=-1) > top_p
    out = scores.clone()
    out[index[drop]] = -math.inf
    return out


def _constrained(job: Job, scores: Any, loaded: Any) -> int | None:
    import torch

    state = job.state
    assert state is not None
    if state.closed:
        return None
    texts = loaded.texts()
    # Tokens still free after this one; a state that already needs more chars than that must get
    # closer to its end with every token (a char is at most a token: the cost is conservative).
    budget = max(job.settings.max_tokens - len(job.tokens) - 1, state.cost() - 1)
    tried = 0
    best: tuple[int, int, Any] | None = None  # the valid token that leaves the least to write
    for batch in (_FIRST, scores.shape[-1]):
        order = torch.topk(scores, min(batch, scores.shape[-1])).indices.tolist()
        for token in order[tried:]:
            if token in loaded.end_ids:
                if state.complete:
                    return token
                continue
            text = texts[token] if token < len(texts) else ""
            if not text or "\ufffd" in text:
                continue
            after = state.feed(text)
            if after is None:
                continue
            cost = after.cost()
            if cost <= budget:
                job.state = after
                return token
            if best is None or cost < best[0]:
                best = (cost, token, after)
        tried = len(order)
    if best is None:
        return next(iter(loaded.end_ids))  # no token continues the JSON: end the reply (it will not parse)
    job.state = best[2]
    return best[1]


def token_logprobs(job: Job, logits: Any, token: int, loaded: Any) -> None:
    import torch

    k = job.settings.top_logprobs
    if k is None:
        return
    logp = torch.log_softmax(logits.float(), dim=-1)
    top = torch.topk(logp, max(k, 1))
    decode = loaded.tokenizer.decode
    job.logprobs.append(
        {
            "token": decode([token]),
            "logprob": float(logp[token]),
            "top_logprobs": [
                {"token": decode([int(i)]), "logprob": float(v)} for v, i in zip(top.values, top.indices, strict=True)
            ][:k],
        }
    )


def advance(job: Job, token: int | None, loaded: Any) -> None:
    """Take ``token`` (None: the constraint is closed); set ``finish_reason`` when the job ends; emit text."""
    if token is None or token in loaded.end_ids:
        job.finish_reason = "stop"
    else:
        job.tokens.append(token)
        job.text += _detokenise(job, loaded.tokenizer)
        for stop in job.settings.stop:
            at = job.text.find(stop, max(0, job.sent - len(stop)))
            if at >= 0:
                job.text = job.text[:at]
                job.finish_reason = "stop"
        if job.finish_reason is None and job.state is not None and job.state.closed:
            job.finish_reason = "stop"
        if job.finish_reason is None and len(job.tokens) >= job.settings.max_tokens:
            job.finish_reason = "length"
    _emit_text(job)
    if job.finish_reason is not None:
        job.emit({"type": "done", "finish_reason": job.finish_reason})


def _detokenise(job: Job, tokenizer: Any) -> str:
    """The text the last token adds, once it is whole (a token may carry half a UTF-8 character)."""
    prefix, read = job.offsets
    before = tokenizer.decode(job.tokens[prefix:read], skip_special_tokens=True)
    after = tokenizer.decode(job.tokens[prefix:], skip_special_tokens=True)
    if len(after) > len(before) and not after.endswith("\ufffd"):
        job.offsets = (read, len(job.tokens))
        return after[len(before) :]
    return ""


def _emit_text(job: Job) -> None:
    """Send the text that can no longer change: held back are a half character and a possible stop's start."""
    end = len(job.text)
    if job.finish_reason is None:
        if job.text.endswith("\ufffd"):
            end -= 1
        for stop in job.settings.stop:
            for n in range(min(len(stop) - 1, end), 0, -1):
                if job.text[:end].endswith(stop[:n]):
                    end = min(end, len(job.text[:end]) - n)
                    break
    if end > job.sent:
        job.emit({"type": "text", "text": job.text[job.sent : end]})
        job.sent = end
