"""The recipes' plumbing: an RFC 5545 invite from an event, a conversation as a prompt."""

from datetime import UTC, datetime
from typing import Any

import pytest

from herd.apps.agents.recipes import RENDERERS, conversation_prompt, to_ics
from herd.errors import InvalidRequest

NOW = datetime(2025, 3, 1, 9, 30, 5, tzinfo=UTC)
EVENT = {"title": "Budget review", "start": "2025-03-14T15:00", "duration_minutes": None, "location": None}


def lines(ics: str) -> list[str]:
    """The physical lines; every one must end in CRLF, and nothing but CRLF ends a line."""
    assert ics.endswith("\r\n")
    assert "\n" not in ics.replace("\r\n", "") and "\r" not in ics.replace("\r\n", "")
    return ics[:-2].split("\r\n")


def unfolded(ics: str) -> list[str]:
    return lines(ics.replace("\r\n ", ""))


def prop(ics: str, name: str) -> list[str]:
    return [line.split(":", 1)[1] for line in unfolded(ics) if line.split(":", 1)[0].split(";")[0] == name]


def test_the_invite_has_the_rfc_5545_structure() -> None:
    out = unfolded(to_ics(EVENT, now=NOW))
    assert out[:4] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Herd//calendar-invite//EN", "BEGIN:VEVENT"]
    assert out[-2:] == ["END:VEVENT", "END:VCALENDAR"]
    names = [line.split(":", 1)[0] for line in out[4:-2]]
    assert names == ["UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"]
    assert prop(to_ics(EVENT, now=NOW), "DTSTAMP") == ["20250301T093005Z"]
    assert prop(to_ics(EVENT, now=NOW), "SUMMARY") == ["Budget review"]


def test_the_uid_depends_on_the_event_only() -> None:
    uid = prop(to_ics(EVENT, now=NOW), "UID")
    assert uid == prop(to_ics(dict(reversed(EVENT.items())), now=datetime.now(UTC)), "UID")
    assert uid[0].endswith("@herd")
    assert uid != prop(to_ics({**EVENT, "title": "Other"}, now=NOW), "UID")


@pytest.mark.parametrize(
    ("change", "start", "end"),
    [
        ({}, "20250314T150000", "20250314T160000"),
        ({"duration_minutes": 90}, "20250314T150000", "20250314T163000"),
        ({"start": "2025-12-31T23:30", "duration_minutes": 45}, "20251231T233000", "20260101T001500"),
        ({"end": "2025-03-14T15:20"}, "20250314T150000", "20250314T152000"),
        ({"end": "2025-03-15T09:00", "duration_minutes": 10}, "20250314T150000", "20250315T090000"),
    ],
)
def test_start_and_end_times(change: dict, start: str, end: str) -> None:
    ics = to_ics({**EVENT, **change}, now=NOW)
    assert prop(ics, "DTSTART") == [start]
    assert prop(ics, "DTEND") == [end]


def test_text_values_are_escaped() -> None:
    event = {**EVENT, "title": "Plan; review, then\\done\nnext", "location": "Room 4, floor 2; east"}
    ics = to_ics(event, now=NOW)
    assert prop(ics, "SUMMARY") == ["Plan\\; review\\, then\\\\done\\nnext"]
    assert prop(ics, "LOCATION") == ["Room 4\\, floor 2\\; east"]


def test_carriage_returns_become_escaped_newlines_not_bare_line_ends() -> None:
    ics = to_ics({**EVENT, "title": "Line one\r\nLine two\rthree"}, now=NOW)
    assert prop(ics, "SUMMARY") == ["Line one\\nLine two\\nthree"]


def test_attendee_lines_only_for_addresses_and_every_name_in_the_description() -> None:
    event = {**EVENT, "attendees": ["ana@example.com", "Bo", "", "cy@example.org"]}
    ics = to_ics(event, now=NOW)
    assert [line for line in unfolded(ics) if line.startswith("ATTENDEE")] == [
        "ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:ana@example.com",
        "ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:cy@example.org",
    ]
    assert prop(ics, "DESCRIPTION") == ["Attendees: ana@example.com\\, Bo\\, cy@example.org"]
    assert not prop(to_ics({**EVENT, "attendees": []}, now=NOW), "DESCRIPTION")


@pytest.mark.parametrize(
    "title",
    [
        "Quarterly planning with the whole product, design and engineering group " * 3,
        "é" * 80,  # 8 octets of "SUMMARY:" + 2 per character: the 75th octet falls inside a character
        "Réunion ☕ café — " * 12,
        "会議" * 60,
    ],
)
def test_long_lines_fold_at_75_octets_never_inside_a_character(title: str) -> None:
    ics = to_ics({**EVENT, "title": title}, now=NOW)
    physical = lines(ics)
    assert all(len(line.encode()) <= 75 for line in physical), [len(line.encode()) for line in physical]
    summary = next(i for i, line in enumerate(physical) if line.startswith("SUMMARY:"))
    assert physical[summary + 1].startswith(" ")  # folded: continuation lines start with a space
    assert len(physical[summary].encode()) >= 73  # folds use the room there is, less a character at most
    assert prop(ics, "SUMMARY") == [title.replace(",", "\\,")]


def test_a_split_character_would_be_lost_so_the_fold_moves_before_it() -> None:
    ics = to_ics({**EVENT, "title": "é" * 80}, now=NOW)
    first = next(line for line in lines(ics) if line.startswith("SUMMARY:"))
    assert len(first.encode()) == 74 and first == "SUMMARY:" + "é" * 33


def test_short_lines_are_not_folded() -> None:
    assert all(not line.startswith(" ") for line in lines(to_ics(EVENT, now=NOW)))


@pytest.mark.parametrize(
    ("event", "said"),
    [
        ({"start": "2025-03-14T15:00"}, "no title"),
        ({"title": "x", "start": ""}, "no start"),
        ({"title": "x", "start": "next Tuesday"}, "'next Tuesday' is not ISO 8601"),
        ({"title": "x", "start": "2025-03-14T15:00", "end": "soon"}, "'soon' is not ISO 8601"),
        ({"title": "x", "start": "2025-02-30T10:00"}, "not ISO 8601"),
    ],
)
def test_events_the_invite_cannot_be_made_from(event: dict, said: str) -> None:
    with pytest.raises(InvalidRequest, match=said):
        to_ics(event, now=NOW)


def test_the_calendar_agent_renders_an_ics_file() -> None:
    suffix, render = RENDERERS["calendar-invite"]
    assert suffix == ".ics"
    assert render(EVENT).startswith("BEGIN:VCALENDAR\r\n")


# -- conversation_prompt ----------------------------------------------------------------------

ITEMS: list[dict[str, Any]] = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Can you send the deck?"}]},
    {"type": "function_call", "name": "lookup", "arguments": "{}"},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": " Sure, by Friday. "}]},
    {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "data:..."}]},
    {"type": "message", "role": "user", "content": "   "},
    {"role": "user", "content": "Thanks!"},
    {"type": "function_call_output", "output": "ignored"},
]


def test_conversation_prompt_renders_messages_with_text_as_role_lines() -> None:
    assert conversation_prompt(ITEMS, 20) == (
        "Conversation:\nuser: Can you send the deck?\nassistant: Sure, by Friday.\nuser: Thanks!"
    )


def test_conversation_prompt_keeps_the_last_messages() -> None:
    assert conversation_prompt(ITEMS, 2) == "Conversation:\nassistant: Sure, by Friday.\nuser: Thanks!"
    assert conversation_prompt(ITEMS, 1) == "Conversation:\nuser: Thanks!"


def test_conversation_prompt_joins_text_parts_and_defaults_the_role() -> None:
    items = [{"content": [{"type": "input_text", "text": "one"}, {"type": "input_text", "text": "two"}]}]
    assert conversation_prompt(items, 5) == "Conversation:\nuser: one two"


@pytest.mark.parametrize("items", [[], [ITEMS[1], ITEMS[3], ITEMS[4]], [{"type": "message", "content": None}]])
def test_a_conversation_without_text_is_an_invalid_request(items: list) -> None:
    with pytest.raises(InvalidRequest, match="no messages with text"):
        conversation_prompt(items, 5)
