"""The ``current_time`` and ``convert_time`` tools, and the time-zone and date-time parsing they share.

Zones are IANA names read by ``zoneinfo``, which also handles daylight saving. The clock is
injectable (``make_current_time_tool(now=...)``) so tests can pin "now".
"""

import difflib
import functools
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ..spec import HerdTool, Param, ToolArgumentError, ToolOutput
from .calculator import shown

EXAMPLE_TIME = "2026-03-29T14:30 or 2026-03-29T14:30:00+02:00"


@functools.cache
def zone_names() -> dict[str, str]:
    """Every known zone by its lower-case name."""
    names = zoneinfo.available_timezones() | {"UTC"}
    return {name.lower(): name for name in names}


@functools.cache
def zones_by_city() -> dict[str, list[str]]:
    cities: dict[str, list[str]] = {}
    for name in sorted(zone_names().values()):
        cities.setdefault(name.rsplit("/", 1)[-1].lower(), []).append(name)
    return cities


def resolve_zone(tool: str, value: Any, what: str = "timezone") -> zoneinfo.ZoneInfo:
    """The zone an IANA name (any case, spaces for underscores, or a unique city) stands for."""
    if not isinstance(value, str) or not value.strip():
        raise ToolArgumentError(
            f"{tool}: {what} must be an IANA time zone name such as 'Europe/Berlin', not {shown(value)}"
        )
    key = value.strip().replace(" ", "_").lower()
    if key in ("z", "gmt", "utc"):
        key = "utc"
    cities = zones_by_city().get(key, [])
    name = zone_names().get(key) or (cities[0] if len(cities) == 1 else None)
    if name is not None:
        return zoneinfo.ZoneInfo(name)
    close = cities or difflib.get_close_matches(key, zone_names(), n=5, cutoff=0.6)
    close = [zone_names().get(c, c) for c in close]
    hint = f"; did you mean {', '.join(close)}?" if close else "; send an IANA name such as 'America/New_York'"
    raise ToolArgumentError(f"{tool}: unknown {what} {shown(value)}{hint}")


def parse_datetime(tool: str, value: Any, what: str) -> datetime:
    """An ISO 8601 date-time (a bare date is midnight), naive when it carries no offset."""
    try:
        return datetime.fromisoformat(value.strip())
    except (AttributeError, TypeError, ValueError):
        raise ToolArgumentError(
            f"{tool}: {what} {shown(value)} is not an ISO 8601 date-time; send e.g. {EXAMPLE_TIME}"
        ) from None


def localize(tool: str, naive: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """``naive`` as a wall-clock time in ``zone``; a time skipped by a DST change is refused."""
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ToolArgumentError(
            f"{tool}: {naive.isoformat()} does not exist in {zone.key}: the clocks skip it for daylight saving; "
            "send a time outside the gap, or one with an explicit offset"
        )
    return aware


def aware(tool: str, value: Any, what: str, zone: zoneinfo.ZoneInfo) -> datetime:
    """An ISO date-time; one without an offset is read as wall-clock time in ``zone``."""
    parsed = parse_datetime(tool, value, what)
    if not 1 < parsed.year < 9999:  # so that moving it to any zone, or by a few days, stays in range
        raise ToolArgumentError(f"{tool}: {what} {shown(value)} is outside the years 2 to 9998")
    return parsed if parsed.tzinfo is not None else localize(tool, parsed, zone)


def utc_offset(t: datetime) -> str:
    minutes = round((t.utcoffset() or timedelta(0)) / timedelta(minutes=1))
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def describe(t: datetime, zone_name: str) -> dict[str, Any]:
    return {
        "timezone": zone_name,
        "iso": t.isoformat(),
        "weekday": t.strftime("%A"),
        "utc_offset": utc_offset(t),
        "abbreviation": t.tzname(),
    }


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_current_time_tool(now: Callable[[], datetime] = utc_now) -> HerdTool:
    """``current_time`` reading the clock ``now`` (a naive value is taken as UTC)."""

    async def run(timezone: Any) -> ToolOutput:
        zone = resolve_zone("current_time", timezone)
        t = now()
        t = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(zone).replace(microsecond=0)
        data = describe(t, zone.key)
        text = f"It is {data['weekday']} {t:%Y-%m-%d %H:%M:%S} {t.tzname()} (UTC{data['utc_offset']}) in {zone.key}."
        return ToolOutput(text=text, data=data)

    return HerdTool(
        name="current_time",
        description="The current date and time in a time zone, with the weekday and UTC offset.",
        params=(Param("timezone", "An IANA time zone, e.g. 'Europe/Berlin'", required=False, default="UTC"),),
        run=run,
    )


async def convert(time: Any, from_timezone: Any, to_timezone: Any) -> ToolOutput:
    source = resolve_zone("convert_time", from_timezone, "from_timezone")
    target = resolve_zone("convert_time", to_timezone, "to_timezone")
    start = aware("convert_time", time, "time", source)
    end = start.astimezone(target)
    source_name = source.key if start.tzinfo is source else f"UTC{utc_offset(start)}"
    data = {"from": describe(start, source_name), "to": describe(end, target.key)}
    text = (
        f"{start.isoformat()} ({source_name}) is {end.isoformat()} in {target.key} "
        f"({end:%A}, {end.tzname()}, UTC{utc_offset(end)})."
    )
    return ToolOutput(text=text, data=data)


CURRENT_TIME = make_current_time_tool()
CONVERT_TIME = HerdTool(
    name="convert_time",
    description="Convert a date-time from one time zone to another, with daylight saving applied.",
    params=(
        Param("time", f"An ISO 8601 date-time, e.g. {EXAMPLE_TIME}"),
        Param("from_timezone", "The IANA zone of 'time' when it has no offset", required=False, default="UTC"),
        Param("to_timezone", "The IANA zone to convert to, e.g. 'Asia/Tokyo'"),
    ),
    run=convert,
)
