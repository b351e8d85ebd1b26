"""``GET /v1/herd/shields`` (the shields and the server's policy) and ``POST /v1/herd/shields/check``.

A check runs each named shield (default: all) on one text and its images, and answers
every verdict with its latency; a shield that cannot judge answers an error verdict.
"""

from typing import Any

from herd.distribution.screening import Screening
from herd.distribution.shield_policy import ShieldPolicy
from herd.errors import InvalidRequest
from herd.providers.shields.verdict import Turn

ROLES = ("user", "assistant", "tool")


async def listing(safety: Any, policy: ShieldPolicy) -> dict[str, Any]:
    table = safety.routing_table
    data = []
    for shield in (await table.list_shields()).data:
        entry: dict[str, Any] = {"id": shield.identifier, "provider_id": shield.provider_id}
        impl = await table.get_provider_impl(shield.identifier)
        described = {d["id"]: d for d in getattr(impl, "describe", list)()}
        entry.update(described.get(shield.provider_resource_id or shield.identifier, {"kind": "external"}))
        entry["id"] = shield.identifier
        entry["runs_on"] = [p for p in ("input", "output", "tool_results") if shield.identifier in getattr(policy, p)]
        data.append(entry)
    return {"object": "list", "data": data, "policy": policy.model_dump()}


def _image(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("data:"):
        raise InvalidRequest("each of `images` must be a data URL (data:image/png;base64,...)")
    from herd.providers.vision.sources import load_url

    data, _mime, _name = load_url(value)
    return data


async def check(safety: Any, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("text", ""), str):
        raise InvalidRequest('send JSON {"text": "...", "images": [data URLs], "shields": [ids], "role": "user"}')
    role = body.get("role", "user")
    if role not in ROLES:
        raise InvalidRequest(f"`role` must be one of {', '.join(ROLES)}")
    images = tuple(_image(i) for i in body.get("images") or [])
    if not body.get("text") and not images:
        raise InvalidRequest("nothing to check: send `text`, `images` or both")
    shields = body.get("shields") or [s.identifier for s in (await safety.routing_table.list_shields()).data]
    screening = Screening(safety, ShieldPolicy(on_error="open"))
    await screening.judge(list(shields), [Turn(role, body.get("text") or "", images)], role)
    return {"verdicts": screening.report()}
