"""The ``create_invite`` tool: an RFC 5545 calendar invitation (.ics) returned as an attachment.

It sends nothing: the file goes back to the client, which may mail or import it. Times are
written in UTC (``...Z``); lines end in CRLF and are folded at 75 octets without splitting a
UTF-8 character. The clock and the UID are injectable (``make_invite_tool``) for tests.
"""

import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..spec import Attachment, HerdTool, Param, ToolArgumentError, ToolOutput
from .calculator import shown
from .clock import EXAMPLE_TIME, aware, resolve_zone, utc_now

TOOL = "create_invite"
# Loose on purpose: one @, no spaces or separators, a dot in the domain.
EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]{2,}")
NAMED = re.compile(r"(.*?)\s*<([^<>]*)>")
MAX_MINUTES = 14 * 24 * 60


def fail(message: str) -> ToolArgumentError:
    return ToolArgumentError(f"{TOOL}: {message}")


def text_value(value: Any, what: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise fail(f"{what} must be text of at most {limit} characters")
    return value.strip()


def mailbox(value: Any, what: str) -> tuple[str, str]:
    """(display name, address) from 'ana@example.com' or 'Ana Lopez <ana@example.com>'."""
    named = NAMED.fullmatch(value.strip()) if isinstance(value, str) else None
    name, address = (named.group(1).strip(' "'), named.group(2).strip()) if named else ("", str(value).strip())
    address = address.removeprefix("mailto:")
    if not isinstance(value, str) or not EMAIL.fullmatch(address):
        raise fail(f"{what} {shown(value)} is not an e-mail address; send one like ana@example.com")
    return name, address


def mailboxes(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    items = re.split(r"[,;]", value) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise fail("attendees must be a list of e-mail addresses")
    found = [mailbox(item, "attendee") for item in items if not isinstance(item, str) or item.strip()]
    return list({address.lower(): (name, address) for name, address in found}.values())


def minutes(value: Any) -> float:
    ok = isinstance(value, int | float | str) and not isinstance(value, bool)
    try:
        number = float(value) if ok else 0.0
    except ValueError:
        number = 0.0
    if not 0 < number <= MAX_MINUTES:
        raise fail(f"duration_minutes must be a number of minutes from 1 to {MAX_MINUTES}, not {shown(value)}")
    return number


@dataclass(frozen=True)
class Event:
    title: str
    start: datetime
    end: datetime
    zone: str
    location: str
    description: str
    organizer: tuple[str, str] | None
    attendees: list[tuple[str, str]]


def parse_event(
    title: Any,
    start: Any,
    end: Any = None,
    duration_minutes: Any = 60,
    timezone: Any = "UTC",
    location: Any = None,
    description: Any = None,
    attendees: Any = None,
    organizer: Any = None,
) -> Event:
    """The event the tool's arguments describe; any bad value is a ToolArgumentError."""
    title = text_value(title, "title", 500)
    if not title:
        raise fail("title must not be empty")
    zone = resolve_zone(TOOL, timezone)
    begins = aware(TOOL, start, "start", zone).replace(microsecond=0)
    if end is not None:
        ends = aware(TOOL, end, "end", zone).replace(microsecond=0)
        if ends <= begins:
            raise fail(f"end {ends.isoformat()} is not after start {begins.isoformat()}; send a later end")
    else:
        ends = begins + timedelta(minutes=minutes(duration_minutes))
    return Event(
        title=title,
        start=begins.astimezone(zone),
        end=ends.astimezone(zone),
        zone=zone.key,
        location=text_value(location, "location", 500),
        description=text_value(description, "description", 10_000),
        organizer=mailbox(organizer, "organizer") if organizer is not None else None,
        attendees=mailboxes(attendees),
    )


def escape(value: str) -> str:
    """An RFC 5545 TEXT value: \\ ; , escaped, newlines as \\n, other control characters dropped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return "".join(c for c in value if c == "\t" or unicodedata.category(c) != "Cc")


def fold(line: str) -> str:
    """``line`` in physical lines of at most 75 octets; each continuation starts with a space."""
    parts, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            parts.append(current)
            current, size = " ", 1
        current += char
        size += width
    return "\r\n".join([*parts, current]) + "\r\n"


def address_line(prop: str, mailbox: tuple[str, str], params: str = "") -> str:
    """A cal-address property; the name is a quoted parameter value, which has no escapes."""
    name, address = mailbox
    name = "".join(c for c in name if unicodedata.category(c) != "Cc").replace('"', "'")
    cn = f';CN="{name}"' if name else ""
    return f"{prop}{cn}{params}:mailto:{address}"


def ics_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(event: Event, uid: str, stamp: datetime) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Herd//Herd tools//EN", "CALSCALE:GREGORIAN"]
    lines += ["METHOD:REQUEST", "BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{ics_time(stamp)}"]
    lines += [f"DTSTART:{ics_time(event.start)}", f"DTEND:{ics_time(event.end)}", f"SUMMARY:{escape(event.title)}"]
    lines += [f"LOCATION:{escape(event.location)}"] if event.location else []
    lines += [f"DESCRIPTION:{escape(event.description)}"] if event.description else []
    lines += [address_line("ORGANIZER", event.organizer)] if event.organizer else []
    attendee = ";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
    lines += [address_line("ATTENDEE", a, attendee) for a in event.attendees]
    lines += ["SEQUENCE:0", "STATUS:CONFIRMED", "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) for line in lines).encode()


def slug(title: str) -> str:
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:60].strip("-") or "invite"


def when(event: Event) -> str:
    start, end = event.start, event.end
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%A %d %B %Y, %H:%M}"
    return f"{start:%A %d %B %Y, %H:%M}–{until} ({event.zone})"


def make_invite_tool(
    now: Callable[[], datetime] = utc_now, new_uid: Callable[[], str] = lambda: f"{uuid.uuid4()}@herd"
) -> HerdTool:
    """``create_invite`` stamping invites with the clock ``now`` and UIDs from ``new_uid``."""

    async def run(**args: Any) -> ToolOutput:
        event = parse_event(**args)
        uid, name = new_uid(), f"{slug(event.title)}.ics"
        data = {
            "title": event.title,
            "start": event.start.isoformat(),
            "end": event.end.isoformat(),
            "start_utc": ics_time(event.start),
            "end_utc": ics_time(event.end),
            "timezone": event.zone,
            "location": event.location or None,
            "organizer": event.organizer[1] if event.organizer else None,
            "attendees": [address for _, address in event.attendees],
            "uid": uid,
            "filename": name,
        }
        guests = f" with {len(event.attendees)} attendee(s)" if event.attendees else ""
        text = f"Created invite '{event.title}' on {when(event)}{guests}, saved as {name}"
        ics = Attachment(name=name, mime="text/calendar", data=calendar(event, uid, now()))
        return ToolOutput(text=text, data=data, attachments=[ics])

    return HerdTool(name=TOOL, description=DESCRIPTION, params=PARAMS, run=run)


DESCRIPTION = "Create a calendar invitation (.ics file) for an event. It only produces the file; nothing is sent."
PARAMS = (
    Param("title", "The event's title"),
    Param("start", f"When it starts, ISO 8601, e.g. {EXAMPLE_TIME}"),
    Param("end", "When it ends, ISO 8601; leave out to use duration_minutes", required=False),
    Param("duration_minutes", "How long it lasts when no end is given", type="number", required=False, default=60),
    Param("timezone", "IANA zone for times without an offset, e.g. 'Europe/Paris'", required=False, default="UTC"),
    Param("location", "Where it takes place", required=False),
    Param("description", "Notes for the attendees", required=False),
    Param("attendees", "E-mail addresses to invite, e.g. ['ana@example.com']", type="array", required=False),
    Param("organizer", "The organizer's e-mail address", required=False),
)
CREATE_INVITE = make_invite_tool()
