"""A scripted shield backend: a safety router whose one provider flags what a rule says.

``FakeSafety(flag=lambda text: ...)`` stands in for llama-stack's safety router in
tests of Herd's screening; ``calls`` records each judged conversation.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from herd.providers.shields.verdict import Turn, Verdict


@dataclass
class _Shield:
    identifier: str
    provider_resource_id: str
    provider_id: str = "fake"


@dataclass
class FakeShields:
    flag: Callable[[str], bool]
    fail: bool = False
    redact: Callable[[str], str] | None = None
    calls: list[list[Turn]] = field(default_factory=list)

    async def check(self, shield_id: str, conversation: list[Turn]) -> Verdict:
        self.calls.append(conversation)
        if self.fail:
            return Verdict(shield_id, True, ["shield-unavailable"], "backend down", 1.0, "error", error=True)
        text = conversation[-1].text
        if self.flag(text):
            return Verdict(shield_id, True, ["S1"], "scripted", 1.0, "label")
        redacted = self.redact(text) if self.redact else None
        return Verdict(shield_id, False, [], "scripted", 0.0, "label", redacted=redacted if redacted != text else None)

    def describe(self) -> list[dict[str, Any]]:
        return [{"id": "fake", "kind": "scripted"}]


class _Table:
    def __init__(self, impl: FakeShields, ids: list[str]) -> None:
        self.impl = impl
        self.ids = ids

    async def get_object_by_identifier(self, kind: str, identifier: str) -> Any:
        return _Shield(identifier, identifier) if identifier in self.ids else None

    async def get_provider_impl(self, identifier: str) -> Any:
        return self.impl

    async def list_shields(self) -> Any:
        class _Page:
            data = [_Shield(i, i) for i in self.ids]

        return _Page()


class FakeSafety:
    def __init__(
        self,
        flag: Callable[[str], bool] = lambda _t: False,
        fail: bool = False,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.shields = FakeShields(flag, fail, redact)
        self.routing_table = _Table(self.shields, ["fake"])
