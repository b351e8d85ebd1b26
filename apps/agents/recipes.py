"""What the built-in recipes need around the model: inputs built, structured answers turned into files.

- ``summarise-actions``: ``conversation_prompt`` renders the last N messages of a
  conversation (from the Conversations API) as the agent's input.
- ``calendar-invite``: ``to_ics`` turns the agent's event into an RFC 5545 invite.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from herd.errors import InvalidRequest

DEFAULT_MINUTES = 60
ICS_TIME = "%Y%m%dT%H%M%S"


def conversation_prompt(items: list[dict[str, Any]], last: int) -> str:
    """The last ``last`` messages of a conversation's items as "role: text" lines."""
    lines = []
    for item in items:
        if item.get("type", "message") != "message":
            continue
        parts = item.get("content")
        text = parts if isinstance(parts, str) else " ".join(p.get("text", "") for p in parts or [])
        if text.strip():
            lines.append(f"{item.get('role', 'user')}: {text.strip()}")
    if not lines:
        raise InvalidRequest("the conversation has no messages with text to summarise")
    return "Conversation:\n" + "\n".join(lines[-last:])


def _ics_text(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")  # a bare CR would end the line early
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545 lines are at most 75 octets; longer ones continue after CRLF and a space."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts, start = [], 0
    while start < len(raw):
        end = min(start + (75 if start == 0 else 74), len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            end -= 1
        parts.append(raw[start:end].decode())
        start = end
    return "\r\n ".join(parts)


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"event time '{value}' is not ISO 8601 (YYYY-MM-DDTHH:MM)") from exc


def _end(event: dict[str, Any], start: datetime) -> datetime:
    if event.get("end"):
        end = _parse_time(event["end"])
    else:
        minutes = event.get("duration_minutes")
        end = start + timedelta(minutes=DEFAULT_MINUTES if minutes is None else int(minutes))
    if end <= start:
        raise InvalidRequest(f"the event ends ({end:%Y-%m-%dT%H:%M}) before it starts ({start:%Y-%m-%dT%H:%M})")
    return end


def to_ics(event: dict[str, Any], now: datetime | None = None) -> str:
    """An iCalendar file with one event (floating local times, as the chat gave them).

    The end is ``end`` if given, else ``start`` plus ``duration_minutes`` (default 60).
    """
    for key in ("title", "start"):
        if not event.get(key):
            raise InvalidRequest(f"the event has no {key}; the invite needs at least a title and a start")
    start = _parse_time(event["start"])
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    uid = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()[:24]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Herd//calendar-invite//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}@herd",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{start.strftime(ICS_TIME)}",
        f"DTEND:{_end(event, start).strftime(ICS_TIME)}",
        f"SUMMARY:{_ics_text(event['title'])}",
    ]
    if event.get("location"):
        lines.append(f"LOCATION:{_ics_text(event['location'])}")
    attendees = [a for a in event.get("attendees") or [] if a]
    # ATTENDEE needs an address; names without one are listed in the description only.
    lines += [f"ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{a}" for a in attendees if "@" in a]
    if attendees:
        lines.append(f"DESCRIPTION:{_ics_text('Attendees: ' + ', '.join(attendees))}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


# Agents whose structured answer becomes a file: name -> (file suffix, renderer).
RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {"calendar-invite": (".ics", to_ics)}
