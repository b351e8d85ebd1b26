"""Herd's shields provider: llama-stack's Safety API over offline and Llama Guard shields.

``run_shield`` judges the last message of a conversation; ``run_moderation`` judges each
input of a list on its own and answers one result per input, in OpenAI's schema (every
OpenAI category present, Llama Guard codes mapped as ``categories.TO_MODERATION`` says,
Herd's other categories next to them). ``check`` is the same judgement as a ``Verdict``,
for Herd's own screening of requests.
"""

import asyncio
import uuid
from typing import Any

from llama_stack_api import (
    ModerationObject,
    ModerationObjectResults,
    RunModerationRequest,
    RunShieldRequest,
    RunShieldResponse,
    Safety,
    SafetyViolation,
    Shield,
    ShieldsProtocolPrivate,
    ViolationLevel,
)

from herd.errors import ConfigError, InvalidRequest

from .categories import OPENAI_CATEGORIES, moderation_name
from .config import LlamaGuardShield, OfflineShield, ShieldsConfig
from .messages import turns_from_messages
from .verdict import Turn, Verdict


class HerdShields(Safety, ShieldsProtocolPrivate):
    shield_store: Any

    def __init__(self, config: ShieldsConfig, inference: Any) -> None:
        self.config = config
        self.inference = inference
        self.runners: dict[str, Any] = {}

    async def initialize(self) -> None:
        from .guard import LlamaGuardRunner
        from .offline import OfflineRunner

        for shield in self.config.shields:
            if isinstance(shield, OfflineShield):
                self.runners[shield.id] = OfflineRunner(shield)
            elif isinstance(shield, LlamaGuardShield):
                if self.inference is None:
                    raise ConfigError(
                        f"shield '{shield.id}' needs the inference API; add `inference` to the run config"
                    )
                self.runners[shield.id] = LlamaGuardRunner(shield, self.inference)

    async def shutdown(self) -> None:
        return None

    def describe(self) -> list[dict[str, Any]]:
        """Each configured shield: id, kind, and what it runs on."""
        out = []
        for shield in self.config.shields:
            entry: dict[str, Any] = {"id": shield.id, "kind": shield.kind}
            if isinstance(shield, LlamaGuardShield):
                entry.update(model=shield.model, variant=shield.variant, excluded=shield.excluded_categories)
            else:
                entry.update(detector=shield.detector, rules=shield.rules.model_dump(exclude_defaults=True))
            out.append(entry)
        return out

    # -- resources -------------------------------------------------------------

    async def register_shield(self, shield: Shield) -> None:
        self._runner(shield.provider_resource_id or shield.identifier)

    async def unregister_shield(self, identifier: str) -> None:
        return None

    def _runner(self, shield_id: str) -> Any:
        runner = self.runners.get(shield_id)
        if runner is None:
            raise InvalidRequest(
                f"shield '{shield_id}' is not configured; this server's shields are "
                f"{', '.join(self.runners) or '(none)'} (see `herd shields list`)"
            )
        return runner

    # -- judging ---------------------------------------------------------------

    async def check(self, shield_id: str, conversation: list[Turn]) -> Verdict:
        if not conversation:
            raise InvalidRequest("nothing to check: send at least one message with text or an image")
        runner = self._runner(shield_id)
        if asyncio.iscoroutinefunction(runner.check):
            verdict: Verdict = await runner.check(conversation)
        elif conversation[-1].images:  # OCR takes a few hundred ms: off the event loop
            verdict = await asyncio.to_thread(runner.check, conversation)
        else:
            verdict = runner.check(conversation)
        return verdict

    async def _provider_id(self, shield_id: str) -> str:
        if shield_id in self.runners or self.shield_store is None:
            return shield_id
        shield = await self.shield_store.get_shield(shield_id)
        return str(shield.provider_resource_id or shield_id)

    async def run_shield(self, request: RunShieldRequest) -> RunShieldResponse:
        conversation = turns_from_messages([m.model_dump() for m in request.messages])
        verdict = await self.check(await self._provider_id(request.shield_id), conversation)
        if not verdict.flagged:
            return RunShieldResponse(violation=None)
        metadata = {**verdict.as_dict(), "violation_type": ",".join(verdict.categories)}
        return RunShieldResponse(
            violation=SafetyViolation(
                violation_level=ViolationLevel.ERROR, user_message=verdict.message(), metadata=metadata
            )
        )

    async def run_moderation(self, request: RunModerationRequest) -> ModerationObject:
        inputs = [request.input] if isinstance(request.input, str) else list(request.input)
        if not inputs or not all(isinstance(i, str) for i in inputs):
            raise InvalidRequest("`input` must be a string or a non-empty list of strings")
        shield_id = request.model or next(iter(self.runners), "")
        verdicts = [await self.check(shield_id, [Turn("user", text)]) for text in inputs]
        return ModerationObject(
            id=f"modr-{uuid.uuid4().hex}", model=shield_id, results=[moderation_result(v) for v in verdicts]
        )


def moderation_result(verdict: Verdict) -> ModerationObjectResults:
    """One verdict in OpenAI's moderation schema."""
    flagged_names = {moderation_name(c) for c in verdict.categories} if verdict.flagged else set()
    names = list(dict.fromkeys([*OPENAI_CATEGORIES, *sorted(flagged_names)]))
    # A label-only guard gives no per-category probability: flagged categories score the
    # verdict's score, the others 0. With logprobs, the others score P(unsafe) at most.
    other = verdict.score if verdict.score_source == "logprobs" and not verdict.flagged else 0.0
    return ModerationObjectResults(
        flagged=verdict.flagged,
        categories={name: name in flagged_names for name in names},
        category_scores={name: round(verdict.score if name in flagged_names else other, 4) for name in names},
        category_applied_input_types={name: ["text"] for name in names},
        user_message=verdict.message() if verdict.flagged else None,
        metadata=verdict.as_dict(),
    )
