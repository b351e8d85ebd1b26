"""Herd's built-in tools, called as the tool runner calls them: arguments through
``HerdTool.check_arguments``, then ``run``. Every bad argument must come back as a
``ToolArgumentError`` whose message says what to send instead; nothing else may escape.
"""

import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from herd.providers.tools.builtin import BUILTIN_TOOLS, builtin_tool
from herd.providers.tools.builtin.calculator import CALCULATOR
from herd.providers.tools.builtin.calendar_invite import CREATE_INVITE, make_invite_tool
from herd.providers.tools.builtin.clock import CONVERT_TIME, CURRENT_TIME, make_current_time_tool
from herd.providers.tools.builtin.units import CONVERT_UNITS
from herd.providers.tools.builtin.web_fetch import WEB_FETCH_TOOL, make_fetch_tool
from herd.providers.tools.spec import HerdTool, ToolArgumentError, ToolOutput


async def call(tool: HerdTool, **arguments: Any) -> ToolOutput:
    return await tool.run(**tool.check_arguments(arguments))


async def refused(tool: HerdTool, **arguments: Any) -> str:
    """The message of the ToolArgumentError the call raises."""
    with pytest.raises(ToolArgumentError) as caught:
        await call(tool, **arguments)
    return str(caught.value)


# --- the registry and argument checking ---------------------------------------------------


def test_builtin_tools_are_offline_and_found_by_name() -> None:
    names = [tool.name for tool in BUILTIN_TOOLS]
    assert names == ["calculator", "current_time", "convert_time", "convert_units", "create_invite"]
    assert builtin_tool("calculator") is CALCULATOR
    assert not any(tool.side_effects or tool.requires_approval for tool in BUILTIN_TOOLS)
    for name in ("fetch_page", "nope"):
        with pytest.raises(KeyError, match="calculator, current_time"):
            builtin_tool(name)
    assert WEB_FETCH_TOOL.name == "fetch_page" and WEB_FETCH_TOOL not in BUILTIN_TOOLS


def test_every_tool_has_a_json_schema() -> None:
    for tool in (*BUILTIN_TOOLS, WEB_FETCH_TOOL):
        schema = tool.json_schema()
        assert schema["type"] == "object"
        assert set(schema["required"]) <= set(schema["properties"])
        assert all(prop["description"] for prop in schema["properties"].values())
    assert CREATE_INVITE.json_schema()["properties"]["attendees"]["type"] == "array"
    assert CONVERT_UNITS.json_schema()["properties"]["value"]["type"] == "number"


async def test_check_arguments_refuses_missing_and_unknown_arguments() -> None:
    assert "calculator needs the argument 'expression'" in await refused(CALCULATOR)
    message = await refused(CALCULATOR, expression="1", expr="2")
    assert message == "calculator has no argument expr; its arguments are expression"
    assert "needs the argument 'to_timezone'" in await refused(CONVERT_TIME, time="2026-01-01T00:00")
    assert CURRENT_TIME.check_arguments({}) == {"timezone": "UTC"}
    assert CREATE_INVITE.check_arguments({"title": "t", "start": "2026-01-01"})["duration_minutes"] == 60


# --- calculator -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "result", "decimal", "text"),
    [
        ("0.1+0.2", "3/10", "0.3", "3/10 = 0.3"),
        ("1/3", "1/3", "0.3333333333", "1/3 ≈ 0.3333333333"),
        ("2/3", "2/3", "0.6666666667", "2/3 ≈ 0.6666666667"),
        ("6 * 7", "42", "42", "42"),
        (
            "2**100",
            "1267650600228229401496703205376",
            "1267650600228229401496703205376",
            "1267650600228229401496703205376",
        ),
        ("sqrt(16)", "4", "4", "4"),
        ("sqrt(9/4)", "3/2", "1.5", "3/2 = 1.5"),
        ("8**(1/3)", "2", "2", "2"),
        ("4**0.5", "2", "2", "2"),
        ("2**-2", "1/4", "0.25", "1/4 = 0.25"),
        ("7 // 2", "3", "3", "3"),
        ("-7 // 2", "-4", "-4", "-4"),
        ("7 % 3", "1", "1", "1"),
        ("(2 + 3) * 4", "20", "20", "20"),
        ("-(-3) + +2", "5", "5", "5"),
        ("1.5e3", "1500", "1500", "1500"),
        ("1_000 + 0x10", "1016", "1016", "1016"),
        ("2×3÷4", "3/2", "1.5", "3/2 = 1.5"),
        ("factorial(20)", "2432902008176640000", "2432902008176640000", "2432902008176640000"),
        ("gcd(12, 18, 30)", "6", "6", "6"),
        ("min(3, 1/2, 2)", "1/2", "0.5", "1/2 = 0.5"),
        ("max(2, 3, 1)", "3", "3", "3"),
        ("abs(-5/2)", "5/2", "2.5", "5/2 = 2.5"),
        ("floor(-2.5)", "-3", "-3", "-3"),
        ("ceil(7/2)", "4", "4", "4"),
        ("round(2.5)", "3", "3", "3"),
        ("round(-2.5)", "-3", "-3", "-3"),
        ("round(1.23456, 2)", "123/100", "1.23", "123/100 = 1.23"),
        ("round(pi, 4)", "3927/1250", "3.1416", "3927/1250 = 3.1416"),
        ("floor(pi * 100)", "314", "314", "314"),
    ],
)
async def test_calculator_is_exact(expression: str, result: str, decimal: str, text: str) -> None:
    out = await call(CALCULATOR, expression=expression)
    expected = {"expression": expression.replace("×", "*").replace("÷", "/"), "result": result, "decimal": decimal}
    assert out.data == expected | {"exact": True}
    assert out.text == text and not out.error


@pytest.mark.parametrize(
    ("expression", "decimal"),
    [("sqrt(2)", "1.414213562"), ("pi", "3.141592654"), ("e", "2.718281828"), ("2**0.5", "1.414213562")],
)
async def test_calculator_says_when_it_is_approximate(expression: str, decimal: str) -> None:
    out = await call(CALCULATOR, expression=expression)
    assert out.text == f"≈ {decimal}"
    assert out.data is not None and out.data["decimal"] == decimal and out.data["exact"] is False


async def test_calculator_results_beyond_pythons_digit_limit() -> None:
    out = await call(CALCULATOR, expression="2**20000")
    assert out.data is not None and len(out.data["result"]) == 6021
    assert out.data["result"].startswith("39802768403379665923")
    assert int(out.data["result"][-30:]) == pow(2, 20000, 10**30)
    assert (await call(CALCULATOR, expression=42)).text == "42"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("2 +* 3", "calculator: '2 +* 3' is not an arithmetic expression: unexpected '*' at position 4"),
        ("2 +", "is not an arithmetic expression: it is incomplete"),
        ("(1+2", "'(' was never closed"),
        ("1 2", "unexpected '2' at position 3"),
        ("3 = 4", "send only the expression, without '='"),
        ("5!", "write factorial(5) for 5!"),
        ("2^3", "'^' is not a power operator here; write 2**3"),
        ("1 & 2", "the operator '&' is not supported"),
        ("__import__('os')", "unknown function '__import__'; the functions are sqrt, abs, round"),
        ("__import__('os').system('ls')", "\"__import__('os').system\" cannot be called"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("(1).real", "attribute access"),
        ("().__class__.__bases__", "attribute access"),
        ("x + 1", "unknown name 'x'; the known constants are pi and e"),
        ("sqr(4)", "unknown function 'sqr' (did you mean sqrt?)"),
        ("log(10)", "unknown function 'log'"),
        ("(lambda: 1)()", "cannot be called"),
        ("'a' + 1", "'a' is not a number"),
        ("True + 1", "True is not a number"),
        ("2j", "2j is not a number"),
        ("[1, 2]", "'[1, 2]' is not allowed; use only numbers"),
        ("lambda: 1", "is not allowed"),
        ("1 < 2", "is not allowed"),
        ("1 if 1 else 2", "is not allowed"),
        ("1,000", "write numbers without thousands separators"),
        ("abs(x=1)", "abs() takes no keyword arguments"),
        ("round(1, 2, 3)", "round() takes 1 to 2 argument(s), not 3"),
        ("sqrt()", "sqrt() takes 1 argument(s), not 0"),
        ("1/0", "calculator: division by zero"),
        ("5 // 0", "division by zero"),
        ("5 % 0.0", "division by zero"),
        ("0**-1", "division by zero: 0 cannot be raised to a negative power"),
        ("sqrt(-1)", "sqrt() of a negative number is not a real number"),
        ("(-8)**(1/3)", "a negative number to a fractional power is not a real number"),
        ("factorial(5000)", "factorial() takes a whole number from 0 to 3000, not 5000"),
        ("factorial(-1)", "from 0 to 3000, not -1"),
        ("factorial(2.5)", "factorial() needs whole numbers, not 2.5"),
        ("gcd(1.5, 3)", "gcd() needs whole numbers"),
        ("round(1, 1000)", "round() takes at most 100 decimal places"),
        ("10**9999 * 10", "the result would have more than 10000 digits"),
        ("1e99999999", "more than 10000 digits"),
        ("10.0**400 * 1.5**0.5", "more than 10000 digits"),
        ("1" + "+1" * 300, "the expression is 601 characters long; send at most 500"),
        ("   ", "the expression is empty"),
        ("(" * 210 + "1" + ")" * 210, "too many nested parentheses"),
    ],
)
async def test_calculator_refuses_with_a_reason(expression: str, message: str) -> None:
    assert message in await refused(CALCULATOR, expression=expression)


async def test_calculator_survives_deep_nesting() -> None:
    assert (await call(CALCULATOR, expression="-" * 499 + "1")).text == "-1"
    assert (await call(CALCULATOR, expression="(" * 199 + "1" + ")" * 199)).text == "1"


async def test_calculator_refuses_a_non_string_expression() -> None:
    assert "expression must be a string such as" in await refused(CALCULATOR, expression=[1, 2])


@pytest.mark.parametrize("expression", ["9**9**9", "2**10**10**10", "10**(10**100)", "(1/3)**100000", "-(7**99999)"])
async def test_calculator_refuses_huge_powers_without_computing_them(expression: str) -> None:
    started = time.perf_counter()
    assert "more than 10000 digits" in await refused(CALCULATOR, expression=expression)
    assert time.perf_counter() - started < 1


async def test_calculator_lets_no_other_exception_escape() -> None:
    pieces = ["1", "0", "2.5", "1e308", "-", "+", "*", "/", "//", "%", "**", "(", ")", ",", "sqrt(", "round("]
    pieces += ["factorial(", "min(", "gcd(", "pi", "e", " ", "^", ".", "x", "9**9", "'", "[", "]"]
    rng = random.Random(5545)
    for _ in range(2000):
        expression = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        try:
            await call(CALCULATOR, expression=expression)
        except ToolArgumentError as err:
            assert str(err).startswith("calculator: ")


# --- current_time and convert_time ---------------------------------------------------------


def fixed_clock(iso: str) -> HerdTool:
    return make_current_time_tool(now=lambda: datetime.fromisoformat(iso))


async def test_current_time_across_the_spring_dst_change() -> None:
    after = await call(fixed_clock("2026-03-29T01:30:00+00:00"), timezone="Europe/Berlin")
    assert after.data == {
        "timezone": "Europe/Berlin",
        "iso": "2026-03-29T03:30:00+02:00",
        "weekday": "Sunday",
        "utc_offset": "+02:00",
        "abbreviation": "CEST",
    }
    assert after.text == "It is Sunday 2026-03-29 03:30:00 CEST (UTC+02:00) in Europe/Berlin."
    before = await call(fixed_clock("2026-03-29T00:30:00+00:00"), timezone="Europe/Berlin")
    assert before.data is not None and before.data["iso"] == "2026-03-29T01:30:00+01:00"
    assert before.data["abbreviation"] == "CET"


@pytest.mark.parametrize(
    ("timezone", "iso", "zone"),
    [
        ("UTC", "2026-03-29T01:30:00+00:00", "UTC"),
        ("z", "2026-03-29T01:30:00+00:00", "UTC"),
        ("europe/berlin", "2026-03-29T03:30:00+02:00", "Europe/Berlin"),
        ("Berlin", "2026-03-29T03:30:00+02:00", "Europe/Berlin"),
        ("new york", "2026-03-28T21:30:00-04:00", "America/New_York"),
        ("Asia/Kolkata", "2026-03-29T07:00:00+05:30", "Asia/Kolkata"),
        ("America/St_Johns", "2026-03-28T23:00:00-02:30", "America/St_Johns"),
    ],
)
async def test_current_time_reads_zone_names_leniently(timezone: str, iso: str, zone: str) -> None:
    out = await call(fixed_clock("2026-03-29T01:30:00.123+00:00"), timezone=timezone)
    assert out.data is not None and (out.data["iso"], out.data["timezone"]) == (iso, zone)


async def test_current_time_defaults_to_utc_and_reads_a_naive_clock_as_utc() -> None:
    out = await call(fixed_clock("2026-07-01T12:00:00"))
    assert out.data is not None and out.data["iso"] == "2026-07-01T12:00:00+00:00"
    real = await call(CURRENT_TIME, timezone="Asia/Tokyo")
    assert real.data is not None
    assert abs(datetime.fromisoformat(real.data["iso"]) - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("timezone", "message"),
    [
        ("Europe/Berln", "current_time: unknown timezone 'Europe/Berln'; did you mean Europe/Berlin"),
        ("america/new_yrok", "did you mean America/New_York"),
        ("Mars/Olympus", "unknown timezone 'Mars/Olympus'; send an IANA name such as 'America/New_York'"),
        ("../../etc/passwd", "unknown timezone '../../etc/passwd'"),
        ("", "timezone must be an IANA time zone name"),
        (5, "timezone must be an IANA time zone name such as 'Europe/Berlin', not 5"),
    ],
)
async def test_current_time_refuses_unknown_zones(timezone: Any, message: str) -> None:
    assert message in await refused(CURRENT_TIME, timezone=timezone)


@pytest.mark.parametrize(
    ("time_", "from_timezone", "to_timezone", "iso", "abbreviation"),
    [
        ("2026-03-29T01:30", "UTC", "Europe/Berlin", "2026-03-29T03:30:00+02:00", "CEST"),
        ("2026-03-29T01:30Z", "Asia/Tokyo", "Europe/Berlin", "2026-03-29T03:30:00+02:00", "CEST"),
        ("2026-03-29T09:00-04:00", "UTC", "Asia/Tokyo", "2026-03-29T22:00:00+09:00", "JST"),
        ("2026-07-01T12:00", "America/New_York", "Europe/London", "2026-07-01T17:00:00+01:00", "BST"),
        ("2026-01-15T12:00", "America/New_York", "Europe/London", "2026-01-15T17:00:00+00:00", "GMT"),
        ("2026-10-25T02:30", "Europe/Berlin", "UTC", "2026-10-25T00:30:00+00:00", "UTC"),  # the first 02:30
        ("2026-07-01", "Europe/Paris", "UTC", "2026-06-30T22:00:00+00:00", "UTC"),
    ],
)
async def test_convert_time(time_: str, from_timezone: str, to_timezone: str, iso: str, abbreviation: str) -> None:
    out = await call(CONVERT_TIME, time=time_, from_timezone=from_timezone, to_timezone=to_timezone)
    assert out.data is not None
    assert (out.data["to"]["iso"], out.data["to"]["abbreviation"]) == (iso, abbreviation)
    assert iso in out.text and to_timezone in out.text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"time": "tomorrow 3pm"}, "convert_time: time 'tomorrow 3pm' is not an ISO 8601 date-time; send e.g."),
        ({"time": 1700000000}, "is not an ISO 8601 date-time"),
        ({"time": "2026-03-29T02:30", "from_timezone": "Europe/Berlin"}, "does not exist in Europe/Berlin"),
        ({"time": "2026-03-29T01:00", "from_timezone": "Europe/Berln"}, "unknown from_timezone 'Europe/Berln'"),
        ({"time": "2026-03-29T01:00", "to_timezone": "Asia/Tokio"}, "unknown to_timezone 'Asia/Tokio'; did you mean"),
        (
            {"time": "0001-01-01T00:00+05:00"},
            "convert_time: time '0001-01-01T00:00+05:00' is outside the years 2 to 9998",
        ),
        ({"time": "9999-12-31T23:00", "to_timezone": "Asia/Tokyo"}, "is outside the years 2 to 9998"),
    ],
)
async def test_convert_time_refuses_with_a_reason(arguments: dict[str, Any], message: str) -> None:
    assert message in await refused(CONVERT_TIME, **({"to_timezone": "UTC"} | arguments))


# --- convert_units ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "result"),
    [
        (1, "in", "cm", 2.54),
        (100, "C", "F", 212),
        (-40, "C", "F", -40),
        (-40, "F", "C", -40),
        (32, "°F", "celsius", 0),
        (0, "K", "C", -273.15),
        (1, "GiB", "B", 1073741824),
        (1, "TiB", "GiB", 1024),
        (1, "GB", "bytes", 10**9),
        (5, "Miles", "km", 8.04672),
        (1, "mi", "ft", 5280),
        (3, "feet", "meters", 0.9144),
        (1, "nmi", "m", 1852),
        (1, "lb", "kg", 0.45359237),
        (1, "stone", "lbs", 14),
        (16, "oz", "pound", 1),
        (1, "gallon", "l", 3.785411784),
        (1, "cup", "ml", 236.5882365),
        (1, "tbsp", "tsp", 3),
        (2, "pints", "cups", 4),
        (1, "m³", "litres", 1000),
        (1, "ha", "m2", 10000),
        (1, "acre", "sq ft", 43560),
        (36, "kph", "m/s", 10),
        (1, "knot", "km/h", 1.852),
        (60, "mph", "km/h", 96.56064),
        (1, "kWh", "J", 3600000),
        (1, "kcal", "kJ", 4.184),
        (1, "atm", "kPa", 101.325),
        (1, "bar", "Pa", 100000),
        (1, "week", "hours", 168),
        (90, "min", "h", 1.5),
        ("2.5", "km", "m", 2500),
        (0.1, "m", "cm", 10),
        (1, "degrees celsius", "kelvin", 274.15),
    ],
)
async def test_convert_units(value: Any, from_unit: str, to_unit: str, result: float) -> None:
    out = await call(CONVERT_UNITS, value=value, from_unit=from_unit, to_unit=to_unit)
    assert out.data is not None and out.data["result"] == result


async def test_convert_units_text_is_exact_or_says_it_is_rounded() -> None:
    out = await call(CONVERT_UNITS, value=1, from_unit="inch", to_unit="centimetres")
    assert out.text == "1 in = 2.54 cm"
    assert out.data is not None and out.data["result_exact"] == "127/50" and out.data["dimension"] == "length"
    fahrenheit = await call(CONVERT_UNITS, value=100, from_unit="F", to_unit="C")
    assert fahrenheit.text == "100 F ≈ 37.77777778 C"
    assert fahrenheit.data is not None and fahrenheit.data["result_exact"] == "340/9"
    assert (await call(CONVERT_UNITS, value=1, from_unit="m", to_unit="ft")).text == "1 m ≈ 3.280839895 ft"
    assert (await call(CONVERT_UNITS, value=1, from_unit="psi", to_unit="kPa")).text == "1 psi ≈ 6.894757293 kPa"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"from_unit": "furlong", "to_unit": "m"},
            "convert_units: unknown from_unit 'furlong'. Accepted length units: mm, cm, m, km, in, ft, yd, mi, nmi",
        ),
        ({"from_unit": "m", "to_unit": "furlong"}, "unknown to_unit 'furlong'. Accepted length units: mm, cm"),
        ({"from_unit": "ton", "to_unit": "kg"}, "unknown from_unit 'ton'; did you mean t, st? Accepted mass units"),
        ({"from_unit": "meterz", "to_unit": "ft"}, "did you mean m, km"),
        ({"from_unit": "xx", "to_unit": "yy"}, "Accepted length units: mm, cm, m, km, in, ft, yd, mi, nmi; mass units"),
        ({"from_unit": 5, "to_unit": "m"}, "unknown from_unit '5'"),
        (
            {"from_unit": "kg", "to_unit": "m"},
            "convert_units: cannot convert kg (mass) to m (length); kg converts only to mass units: mg, g, kg, t, oz, lb, st",
        ),
        ({"from_unit": "C", "to_unit": "kWh"}, "cannot convert C (temperature) to kWh (energy)"),
        ({"value": "abc"}, "convert_units: value must be a number such as 2.54 or 1500 (at most 1e100), not 'abc'"),
        ({"value": "1e500", "from_unit": "TB", "to_unit": "B"}, "value must be a number"),
        ({"value": True}, "value must be a number"),
        ({"value": float("nan")}, "value must be a number"),
        ({"value": "1e999999"}, "value must be a number"),
        ({"value": -1, "from_unit": "K", "to_unit": "C"}, "convert_units: -1 K is below absolute zero"),
        ({"value": -500, "from_unit": "F", "to_unit": "K"}, "-500 F is below absolute zero"),
    ],
)
async def test_convert_units_refuses_with_a_reason(arguments: dict[str, Any], message: str) -> None:
    assert message in await refused(CONVERT_UNITS, **({"value": 1, "from_unit": "m", "to_unit": "km"} | arguments))


# --- create_invite ------------------------------------------------------------------------

INVITE = make_invite_tool(now=lambda: datetime(2026, 3, 1, 12, 0, tzinfo=UTC), new_uid=lambda: "fixed-uid@herd")


def unfold(ics: bytes) -> list[str]:
    """The content lines of an .ics file, after checking its physical lines are CRLF and <= 75 octets."""
    assert ics.endswith(b"\r\n") and b"\n" not in ics.replace(b"\r\n", b"")
    physical = ics.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in physical)
    for line in physical:
        line.decode()  # a fold never splits a UTF-8 character
    return ics.replace(b"\r\n ", b"").decode().split("\r\n")[:-1]


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def prop(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if re.match(rf"{name}[;:]", line)]


async def test_create_invite_writes_rfc5545() -> None:
    description = "Agenda:\nLine two, with a comma; a semicolon and a \\ backslash\n" + "ü" * 80
    out = await call(
        INVITE,
        title="Team sync, weekly; planning \\ review",
        start="2026-03-30T10:00",
        timezone="Europe/Berlin",
        location="Room 1, floor 2",
        description=description,
        attendees=["ana@example.com", "Bob Stone <bob@example.org>", "ANA@example.com"],
        organizer="me@example.com",
    )
    name = "team-sync-weekly-planning-review.ics"
    assert out.text == (
        "Created invite 'Team sync, weekly; planning \\ review' on Monday 30 March 2026, 10:00–11:00 "
        f"(Europe/Berlin) with 2 attendee(s), saved as {name}"
    )
    [attachment] = out.attachments
    assert (attachment.name, attachment.mime) == (name, "text/calendar")
    lines = unfold(attachment.data)
    assert lines[:6] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Herd//Herd tools//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
    ]
    assert lines[-2:] == ["END:VEVENT", "END:VCALENDAR"]
    assert prop(lines, "UID") == ["UID:fixed-uid@herd"]
    assert prop(lines, "DTSTAMP") == ["DTSTAMP:20260301T120000Z"]
    assert prop(lines, "DTSTART") == ["DTSTART:20260330T080000Z"]
    assert prop(lines, "DTEND") == ["DTEND:20260330T090000Z"]
    assert prop(lines, "SUMMARY") == ["SUMMARY:Team sync\\, weekly\\; planning \\\\ review"]
    assert prop(lines, "LOCATION") == ["LOCATION:Room 1\\, floor 2"]
    [desc] = prop(lines, "DESCRIPTION")
    assert "\n" not in desc and unescape(desc.removeprefix("DESCRIPTION:")) == description
    assert prop(lines, "ORGANIZER") == ["ORGANIZER:mailto:me@example.com"]
    assert prop(lines, "ATTENDEE") == [
        "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:ANA@example.com",
        'ATTENDEE;CN="Bob Stone";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.org',
    ]
    assert out.data is not None
    assert (out.data["start_utc"], out.data["end_utc"]) == ("20260330T080000Z", "20260330T090000Z")
    assert out.data["attendees"] == ["ANA@example.com", "bob@example.org"] and out.data["filename"] == name


async def test_create_invite_folds_long_multibyte_lines_without_splitting_characters() -> None:
    title = "☃ " + "Ünïcödé " * 40
    out = await call(INVITE, title=title, start="2026-03-30T10:00Z", description="€" * 100)
    data = out.attachments[0].data
    assert data.count(b"\r\n ") >= 4
    lines = unfold(data)
    assert unescape(prop(lines, "SUMMARY")[0].removeprefix("SUMMARY:")) == title.strip()
    assert prop(lines, "DESCRIPTION") == ["DESCRIPTION:" + "€" * 100]
    assert out.attachments[0].name.startswith("unicode-unicode-") and out.attachments[0].name.endswith(".ics")


@pytest.mark.parametrize(
    ("arguments", "dtstart", "dtend", "when"),
    [
        ({"end": "2026-03-30T11:30"}, "20260330T100000Z", "20260330T113000Z", "10:00–11:30 (UTC)"),
        ({"duration_minutes": 30}, "20260330T100000Z", "20260330T103000Z", "10:00–10:30 (UTC)"),
        ({"duration_minutes": "90"}, "20260330T100000Z", "20260330T113000Z", "10:00–11:30 (UTC)"),
        (
            {"start": "2026-03-30T23:30+02:00", "end": "2026-03-31T01:00+02:00", "timezone": "Europe/Paris"},
            "20260330T213000Z",
            "20260330T230000Z",
            "Monday 30 March 2026, 23:30–Tuesday 31 March 2026, 01:00 (Europe/Paris)",
        ),
        ({"timezone": "America/New_York"}, "20260330T140000Z", "20260330T150000Z", "10:00–11:00 (America/New_York)"),
    ],
)
async def test_create_invite_times(arguments: dict[str, Any], dtstart: str, dtend: str, when: str) -> None:
    out = await call(INVITE, **({"title": "Sync", "start": "2026-03-30T10:00"} | arguments))
    lines = unfold(out.attachments[0].data)
    assert prop(lines, "DTSTART") == [f"DTSTART:{dtstart}"] and prop(lines, "DTEND") == [f"DTEND:{dtend}"]
    assert when in out.text


async def test_create_invite_defaults() -> None:
    out = await call(CREATE_INVITE, title="!!!", start="2026-03-30", attendees="a@b.co; c@d.io")
    assert out.attachments[0].name == "invite.ics"
    lines = unfold(out.attachments[0].data)
    [uid] = prop(lines, "UID")
    assert re.fullmatch(r"UID:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}@herd", uid)
    stamp = datetime.strptime(prop(lines, "DTSTAMP")[0], "DTSTAMP:%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(stamp - datetime.now(UTC)) < timedelta(seconds=5)
    assert len(prop(lines, "ATTENDEE")) == 2 and not prop(lines, "ORGANIZER") and not prop(lines, "LOCATION")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"end": "2026-03-30T09:00"}, "create_invite: end 2026-03-30T09:00:00+00:00 is not after start"),
        ({"end": "2026-03-30T10:00"}, "is not after start"),
        ({"end": "2026-03-30T09:00+00:00", "start": "2026-03-30T10:00+01:00"}, "is not after start"),
        ({"attendees": ["ana@example.com", "not-an-email"]}, "attendee 'not-an-email' is not an e-mail address"),
        ({"attendees": ["ana@example"]}, "attendee 'ana@example' is not an e-mail address; send one like"),
        ({"attendees": ["a b@example.com"]}, "is not an e-mail address"),
        ({"attendees": [5]}, "attendee 5 is not an e-mail address"),
        ({"attendees": 5}, "attendees must be a list of e-mail addresses"),
        ({"organizer": "bob at example"}, "organizer 'bob at example' is not an e-mail address"),
        ({"duration_minutes": -5}, "duration_minutes must be a number of minutes from 1 to 20160, not -5"),
        ({"duration_minutes": "long"}, "duration_minutes must be a number"),
        ({"duration_minutes": 10**9}, "duration_minutes must be a number"),
        ({"title": "  "}, "title must not be empty"),
        ({"title": 5}, "title must be text"),
        ({"start": "soon"}, "create_invite: start 'soon' is not an ISO 8601 date-time"),
        ({"end": "later"}, "end 'later' is not an ISO 8601 date-time"),
        ({"timezone": "Europe/Pariss"}, "unknown timezone 'Europe/Pariss'; did you mean Europe/Paris"),
        ({"start": "2026-03-29T02:30", "timezone": "Europe/Berlin"}, "does not exist in Europe/Berlin"),
        ({"location": ["x"]}, "location must be text"),
        ({"start": "9999-12-31T23:30"}, "start '9999-12-31T23:30' is outside the years 2 to 9998"),
    ],
)
async def test_create_invite_refuses_with_a_reason(arguments: dict[str, Any], message: str) -> None:
    assert message in await refused(INVITE, **({"title": "Sync", "start": "2026-03-30T10:00"} | arguments))


# --- fetch_page -------------------------------------------------------------------------

PUBLIC = "http://93.184.215.14"  # an IP literal: getaddrinfo answers without DNS
PAGE = """<!doctype html><html><head><title> Herd  docs </title><style>body { color: red }</style>
<script>document.write("<p>hidden</p>")</script></head><body><h1>Welcome</h1>
<p>First   paragraph
with <b>bold</b> &amp; entities.</p><ul><li>one</li><li>two</li></ul>
<pre>def f():
    return 1</pre><h2>Next</h2><p>Last<br>line</p><noscript>enable js</noscript></body></html>"""
PAGE_TEXT = (
    "Herd docs\n\n# Welcome\n\nFirst paragraph with bold & entities.\n\n- one\n- two\n\n"
    "def f():\n    return 1\n\n## Next\n\nLast\nline"
)


class Site:
    """A fake web site behind httpx.MockTransport, recording every URL it is asked for."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(str(request.url))
        routes: dict[str, Any] = {
            "/": lambda: httpx.Response(200, html=PAGE),
            "/moved": lambda: httpx.Response(301, headers={"location": "/"}),
            "/loop": lambda: httpx.Response(302, headers={"location": "/loop"}),
            "/to-private": lambda: httpx.Response(302, headers={"location": "http://127.0.0.1/admin"}),
            "/to-ftp": lambda: httpx.Response(302, headers={"location": "ftp://example.com/file"}),
            "/big": lambda: httpx.Response(200, text="x" * 3_000_000),
            "/plain": lambda: httpx.Response(200, text="just  text\n  kept"),
            "/json": lambda: httpx.Response(200, json={"answer": 42}),
            "/png": lambda: httpx.Response(200, content=b"\x89PNG" + bytes(100), headers={"content-type": "image/png"}),
            "/untyped": lambda: httpx.Response(200, content=b"<html><title>T</title><p>Body</p></html>"),
            "/latin1": lambda: httpx.Response(
                200, content="café".encode("latin-1"), headers={"content-type": "text/plain; charset=iso-8859-1"}
            ),
            "/missing": lambda: httpx.Response(404, text="no such page"),
        }
        if request.url.path == "/down":
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("timed out", request=request)
        return routes[request.url.path]()


def fetcher(allow_private: bool = False) -> tuple[HerdTool, Site]:
    site = Site()
    return make_fetch_tool(transport=httpx.MockTransport(site), allow_private=allow_private), site


async def test_fetch_page_turns_html_into_text() -> None:
    tool, site = fetcher()
    out = await call(tool, url=f"{PUBLIC}/")
    assert out.text == PAGE_TEXT and not out.error
    assert out.data == {"url": f"{PUBLIC}/", "status": 200, "content_type": "text/html", "title": "Herd docs"} | {
        "truncated": False
    }
    assert site.requests == [f"{PUBLIC}/"]


@pytest.mark.parametrize(
    ("path", "text", "content_type"),
    [
        ("/plain", "just  text\n  kept", "text/plain"),
        ("/json", '{"answer":42}', "application/json"),
        ("/png", "binary content of type image/png, 104 bytes", "image/png"),
        ("/untyped", "T\n\nBody", "text/html"),
        ("/latin1", "café", "text/plain"),
    ],
)
async def test_fetch_page_content_types(path: str, text: str, content_type: str) -> None:
    tool, _ = fetcher()
    out = await call(tool, url=PUBLIC + path)
    assert out.text == text and out.data is not None and out.data["content_type"] == content_type


async def test_fetch_page_follows_redirects() -> None:
    tool, site = fetcher()
    out = await call(tool, url=f"{PUBLIC}/moved")
    assert out.text == PAGE_TEXT and out.data is not None and out.data["url"] == f"{PUBLIC}/"
    assert site.requests == [f"{PUBLIC}/moved", f"{PUBLIC}/"]


async def test_fetch_page_stops_after_five_redirects() -> None:
    tool, site = fetcher()
    out = await call(tool, url=f"{PUBLIC}/loop")
    assert out.error and out.text == "fetch_page: more than 5 redirects"
    assert len(site.requests) == 6


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-private", "127.0.0.1 resolves to the non-public address 127.0.0.1"),
        ("/to-ftp", "only http and https URLs can be fetched"),
    ],
)
async def test_fetch_page_rechecks_every_redirect(path: str, message: str) -> None:
    tool, site = fetcher()
    out = await call(tool, url=PUBLIC + path)
    assert out.error and message in out.text
    assert site.requests == [PUBLIC + path]


async def test_fetch_page_caps_the_body_and_the_text() -> None:
    tool, _ = fetcher()
    out = await call(tool, url=f"{PUBLIC}/big", max_chars=200_000)
    assert out.text == "x" * 200_000 + "\n\n[truncated: showing 200000 characters of the first 2 MB]"
    assert out.data is not None and out.data["truncated"] is True
    short = await call(tool, url=f"{PUBLIC}/")
    cut = await call(tool, url=f"{PUBLIC}/", max_chars=20)
    assert cut.text == f"{short.text[:20]}\n\n[truncated: showing 20 characters of {len(short.text)}]"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", f"fetch_page: {PUBLIC}/missing answered HTTP 404 Not Found\n\nno such page"),
        ("/down", f"fetch_page: could not fetch '{PUBLIC}/down': ConnectError: connection refused"),
        ("/slow", "fetch_page: 93.184.215.14 did not answer within 10 s"),
    ],
)
async def test_fetch_page_failures_are_error_outputs(path: str, message: str) -> None:
    tool, _ = fetcher()
    out = await call(tool, url=PUBLIC + path)
    assert out.error and out.text == message


async def test_fetch_page_reports_a_host_that_does_not_resolve() -> None:
    tool, site = fetcher()
    out = await call(tool, url="http://no-such-host.invalid/")
    assert out.error and out.text.startswith("fetch_page: cannot resolve the host no-such-host.invalid")
    assert site.requests == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/", "fetch_page: 127.0.0.1 resolves to the non-public address 127.0.0.1"),
        ("http://localhost/", "fetch_page: localhost resolves to the non-public address"),
        ("http://[::1]:8321/", "::1 resolves to the non-public address ::1"),
        ("http://[::ffff:127.0.0.1]/", "resolves to the non-public address 127.0.0.1"),
        ("http://10.1.2.3/", "non-public address 10.1.2.3"),
        ("https://192.168.0.1/", "non-public address 192.168.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "non-public address 169.254.169.254"),
        ("http://0.0.0.0/", "non-public address 0.0.0.0"),
        ("ftp://example.com/file", "fetch_page: only http and https URLs can be fetched, not 'ftp://example.com/file'"),
        ("file:///etc/passwd", "only http and https URLs can be fetched"),
        ("example.com", "only http and https URLs can be fetched"),
        ("http://", "has no host"),
        (5, "url must be a string such as https://example.com/page, not 5"),
    ],
)
async def test_fetch_page_refuses_before_sending_anything(url: Any, message: str) -> None:
    tool, site = fetcher()
    assert message in await refused(tool, url=url)
    assert site.requests == []


@pytest.mark.parametrize("max_chars", [0, -1, 10**9, "many", True])
async def test_fetch_page_refuses_a_bad_max_chars(max_chars: Any) -> None:
    tool, site = fetcher()
    assert "max_chars must be a whole number from 1 to 200000" in await refused(tool, url=PUBLIC, max_chars=max_chars)
    assert site.requests == []


async def test_fetch_page_may_be_allowed_private_hosts() -> None:
    tool, site = fetcher(allow_private=True)
    out = await call(tool, url="http://localhost/")
    assert out.text == PAGE_TEXT and site.requests == ["http://localhost/"]


async def test_fetch_page_summarises_a_large_binary_body_without_a_length() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        stream = httpx.ByteStream(bytes(3_000_000))
        return httpx.Response(200, stream=stream, headers={"content-type": "application/octet-stream"})

    tool = make_fetch_tool(transport=httpx.MockTransport(handler))
    out = await call(tool, url=f"{PUBLIC}/blob")
    assert out.text == "binary content of type application/octet-stream, over 2000000 bytes"
    assert out.data is not None and out.data["truncated"] is False
