"""The tool-call reader on a corpus of replies as small models write them, whole and streamed.

Every case is read whole, then streamed split at every character boundary and one
character at a time: the result must not depend on how the reply arrived.
"""

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from herd.providers import toolcalls
from tests.tools import TIME, WEATHER

ALARM = {
    "type": "function",
    "function": {
        "name": "set_alarm",
        "description": "Set an alarm.",
        "parameters": {
            "type": "object",
            "properties": {
                "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                "loud": {"type": "boolean"},
                "label": {"type": "string"},
                "days": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["hour"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "filters": {"type": "object"}, "limit": {"type": ["integer"]}},
            "required": ["query"],
            "additionalProperties": False,
        },
    },
}
TOOLS = [WEATHER, TIME, ALARM, SEARCH]
SEOUL = ("get_weather", {"city": "Seoul"})


@dataclass
class Case:
    id: str
    text: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    content: str | None = None
    invalid: list[str | None] = field(default_factory=list)  # names of calls that need repair
    stray: list[str] = field(default_factory=list)  # undeclared functions called in JSON


def prose(id: str, text: str) -> Case:
    """A reply with no call: its content is the text itself."""
    return Case(id, text, content=text)


CORPUS = [
    # -- pythonic ------------------------------------------------------------------
    Case("py-list", '[get_weather(city="Seoul")]', [SEOUL]),
    Case(
        "py-single-quotes",
        "[get_weather(city='Seoul', unit='celsius')]",
        [("get_weather", {"city": "Seoul", "unit": "celsius"})],
    ),
    Case("py-bare", 'get_weather(city="Seoul")', [SEOUL]),
    Case(
        "py-parallel",
        '[get_weather(city="Seoul"), get_time(timezone="Asia/Seoul")]',
        [SEOUL, ("get_time", {"timezone": "Asia/Seoul"})],
    ),
    Case(
        "py-bare-parallel",
        'get_weather(city="Seoul"), get_time(timezone="UTC")',
        [SEOUL, ("get_time", {"timezone": "UTC"})],
    ),
    Case(
        "py-lines",
        'get_weather(city="Seoul")\nget_time(timezone="UTC")',
        [SEOUL, ("get_time", {"timezone": "UTC"})],
    ),
    Case(
        "py-values",
        "[set_alarm(hour=7, loud=True, label=None, days=['mon', \"tue\"])]",
        [("set_alarm", {"hour": 7, "loud": True, "days": ["mon", "tue"]})],
    ),
    Case(
        "py-json-literals", "[set_alarm(hour=7, loud=false, label=null)]", [("set_alarm", {"hour": 7, "loud": False})]
    ),
    Case(
        "py-dict-and-float",
        '[search(query="cats", filters={"min_score": 0.5, "tags": ("a", "b")}, limit=-3)]',
        [("search", {"query": "cats", "filters": {"min_score": 0.5, "tags": ["a", "b"]}, "limit": -3})],
    ),
    Case("py-positional", '[get_weather("Seoul", "celsius")]', [("get_weather", {"city": "Seoul", "unit": "celsius"})]),
    Case("py-bare-semicolon", 'get_weather(city="Seoul");', [SEOUL]),
    Case(
        "py-then-prose-below",
        'get_weather(city="Seoul")\nI will tell you what it says.',
        [SEOUL],
        content="I will tell you what it says.",
    ),
    prose("py-name-opening-a-sentence", "get_weather(city) returns the weather for a city; try it."),
    Case("py-no-args", "[get_time()]", invalid=["get_time"]),  # timezone is required
    Case("py-variable-argument", "[get_weather(city=seoul_city)]", invalid=["get_weather"]),
    Case("py-cut-off", '[get_weather(city="Seo', invalid=["get_weather"]),
    Case("py-call-is-never-run", '[get_weather(city=__import__("os").getcwd())]', invalid=["get_weather"]),
    # -- JSON ----------------------------------------------------------------------
    Case("json-parameters", '{"name": "get_weather", "parameters": {"city": "Seoul"}}', [SEOUL]),
    Case("json-arguments", '{"name": "get_weather", "arguments": {"city": "Seoul"}}', [SEOUL]),
    Case("json-arguments-string", '{"name": "get_weather", "arguments": "{\\"city\\": \\"Seoul\\"}"}', [SEOUL]),
    Case("json-flat-arguments", '{"name": "get_weather", "city": "Seoul"}', [SEOUL]),
    Case(
        "json-list",
        '[{"name": "get_weather", "arguments": {"city": "Seoul"}}, {"name": "get_time", "arguments": {"timezone": "UTC"}}]',
        [SEOUL, ("get_time", {"timezone": "UTC"})],
    ),
    Case("json-function-shape", '{"function": {"name": "get_weather", "arguments": {"city": "Seoul"}}}', [SEOUL]),
    Case(
        "json-openai-shape",
        '{"type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Seoul\\"}"}}',
        [SEOUL],
    ),
    Case(
        "json-lines",
        '{"name": "get_weather", "arguments": {"city": "Seoul"}}\n{"name": "get_time", "arguments": {"timezone": "UTC"}}',
        [SEOUL, ("get_time", {"timezone": "UTC"})],
    ),
    Case("json-qwen-double-braces", '{{"name": "get_weather", "arguments": {"city": "Seoul"}}}', [SEOUL]),
    Case("json-broken", '{"name": "get_weather", "arguments": {"city": "Seoul"', invalid=["get_weather"]),
    Case(
        "json-broken-arguments-string", '{"name": "get_weather", "arguments": "{city: Seoul}"}', invalid=["get_weather"]
    ),
    Case("json-arguments-not-object", '{"name": "get_weather", "arguments": ["Seoul"]}', invalid=["get_weather"]),
    Case("json-name-arguments-pair", '["get_weather", {"city": "Seoul"}]', [SEOUL]),
    Case(
        "json-list-of-pairs",
        '[["get_weather", {"city": "Seoul"}], ["get_time", {"timezone": "Asia/Seoul"}]]',
        [SEOUL, ("get_time", {"timezone": "Asia/Seoul"})],
    ),
    prose("json-pair-of-strings", '["get_weather", "Seoul"]'),
    # The candidate ends at the first "]"; the stray "}" after it stays as prose.
    Case("json-pair-broken", '["get_weather", {"city": "YourCity"]}', content="}", invalid=["get_weather"]),
    Case("json-undeclared-function", '{"name": "delete_everything", "arguments": {}}', stray=["delete_everything"]),
    prose("json-not-a-call", '{"city": "Seoul", "temperature": 21}'),
    # -- llama 3.x python tag ---------------------------------------------------------
    Case(
        "python-tag-json", '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Seoul"}}<|eom_id|>', [SEOUL]
    ),
    Case("python-tag-pythonic", '<|python_tag|>get_weather(city="Seoul")<|eot_id|>', [SEOUL]),
    Case(
        "python-tag-several",
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Seoul"}}; '
        '{"name": "get_time", "parameters": {"timezone": "UTC"}}',
        [SEOUL, ("get_time", {"timezone": "UTC"})],
    ),
    Case("python-tag-after-prose", 'Checking.<|python_tag|>get_weather(city="Seoul")', [SEOUL], content="Checking."),
    # -- hermes / qwen tags -------------------------------------------------------------
    Case("tag", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Seoul"}}\n</tool_call>', [SEOUL]),
    Case(
        "tag-several",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Seoul"}}</tool_call>\n'
        '<tool_call>{"name": "get_time", "arguments": {"timezone": "UTC"}}</tool_call>',
        [SEOUL, ("get_time", {"timezone": "UTC"})],
    ),
    Case("tag-unterminated", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Seoul"}}', [SEOUL]),
    Case(
        "tag-unterminated-then-another",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Seoul"}}\n'
        '<tool_call>{"name": "get_time", "arguments": {"timezone": "UTC"}}</tool_call>',
        [SEOUL, ("get_time", {"timezone": "UTC"})],
    ),
    Case(
        "tag-double-braces",
        '<tool_call>\n{{"name": "get_weather", "arguments": {"city": "Seoul"}}}\n</tool_call>',
        [SEOUL],
    ),
    Case("tag-pythonic", '<tool_call>get_weather(city="Seoul")</tool_call>', [SEOUL]),
    Case(
        "tag-broken-json",
        '<tool_call>{"name": "get_weather", "arguments": {"city": }}</tool_call>',
        invalid=["get_weather"],
    ),
    Case("tag-garbage", "<tool_call>call the weather tool please</tool_call>", invalid=[None]),
    Case(
        "tag-undeclared-function",
        '<tool_call>{"name": "rm_rf", "arguments": {"path": "/"}}</tool_call>',
        stray=["rm_rf"],
    ),
    # -- fenced blocks -----------------------------------------------------------------
    Case("fence-json", '```json\n{"name": "get_weather", "arguments": {"city": "Seoul"}}\n```', [SEOUL]),
    Case("fence-plain", '```\n{"name": "get_weather", "arguments": {"city": "Seoul"}}\n```', [SEOUL]),
    Case("fence-python", '```python\nget_weather(city="Seoul")\n```', [SEOUL]),
    Case("fence-tool-code", '```tool_code\n[get_weather(city="Seoul")]\n```', [SEOUL]),
    Case(
        "fence-inline",
        'Sure! ```json {"name": "get_weather", "arguments": {"city": "Seoul"}}``` Let me know',
        [SEOUL],
        content="Sure!  Let me know",
    ),
    prose("fence-code-that-is-not-a-call", "Here is how:\n```python\nprint('hello')\n```\nRun it."),
    # -- prose around calls --------------------------------------------------------------
    Case(
        "prose-around-fence",
        'Sure! Let me look that up.\n```json\n{"name": "get_weather", "arguments": {"city": "Seoul"}}\n```\nLet me know if you need more.',
        [SEOUL],
        content="Sure! Let me look that up.\n\nLet me know if you need more.",
    ),
    Case(
        "prose-then-tag",
        'Let me check.\n<tool_call>{"name": "get_weather", "arguments": {"city": "Seoul"}}</tool_call>',
        [SEOUL],
        content="Let me check.",
    ),
    Case(
        "prose-then-json-line",
        'I will call the tool:\n{"name": "get_weather", "arguments": {"city": "Seoul"}}',
        [SEOUL],
        content="I will call the tool:",
    ),
    Case("prose-then-pythonic-line", 'On it.\n[get_weather(city="Seoul")]', [SEOUL], content="On it."),
    prose("prose-naming-a-tool", "You could use get_weather to find out, or look outside."),
    prose("prose-with-a-call-mid-line", 'I would run get_weather(city="Seoul") for that.'),
    prose("prose-with-brackets", "[Note: don't forget] the answer is {unknown} for now."),
    prose("prose-plain", "The weather in Seoul is usually mild in spring."),
    # -- schema checks ------------------------------------------------------------------
    Case("schema-enum", '[get_weather(city="Seoul", unit="kelvin")]', invalid=["get_weather"]),
    Case(
        "schema-missing-required", '{"name": "get_weather", "arguments": {"unit": "celsius"}}', invalid=["get_weather"]
    ),
    Case("schema-wrong-type", '{"name": "set_alarm", "arguments": {"hour": "seven"}}', invalid=["set_alarm"]),
    Case("schema-out-of-range", '{"name": "set_alarm", "arguments": {"hour": 31}}', invalid=["set_alarm"]),
    Case("schema-extra-field", '{"name": "search", "arguments": {"query": "x", "colour": "red"}}', invalid=["search"]),
    Case(
        "schema-mends-number-string",
        '{"name": "set_alarm", "arguments": {"hour": "7", "loud": "true"}}',
        [("set_alarm", {"hour": 7, "loud": True})],
    ),
    Case("schema-mends-null-optional", '[get_weather(city="Seoul", unit=None)]', [SEOUL]),
    Case("schema-mends-int-for-string", '[search(query=42, limit="3")]', [("search", {"query": "42", "limit": 3})]),
    Case(
        "schema-one-good-one-bad",
        '[get_weather(city="Seoul"), set_alarm(hour=99)]',
        [SEOUL],
        invalid=["set_alarm"],
    ),
]


def _result(found: toolcalls.Normalised) -> tuple[Any, ...]:
    calls = [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in found.calls]
    return found.content, calls, [i.name for i in found.invalid], found.stray


def _expected(case: Case) -> tuple[Any, ...]:
    content = case.content if case.content is not None or not (case.calls or case.invalid or case.stray) else None
    return content, case.calls, case.invalid, case.stray


def _streamed(parts: list[str]) -> tuple[toolcalls.Normalised, str]:
    reader = toolcalls.CallReader(TOOLS)
    shown = "".join(reader.feed(p) for p in parts)
    shown += reader.finish()
    assert reader.result is not None
    return reader.result, shown


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 40
    assert len({c.id for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.id)
def test_whole_reply(case):
    found = toolcalls.normalise(case.text, TOOLS)
    assert _result(found) == _expected(case)
    assert found.text == case.text
    for call in found.calls:
        assert call["type"] == "function" and call["id"].startswith("call_")
    for bad in found.invalid:
        assert bad.reason


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.id)
def test_split_at_every_boundary_reads_the_same(case):
    whole = _result(toolcalls.normalise(case.text, TOOLS))
    for k in range(len(case.text) + 1):
        found, shown = _streamed([case.text[:k], case.text[k:]])
        assert _result(found) == whole, f"split at {k}: {case.text[:k]!r} | {case.text[k:]!r}"
        assert shown == (found.content or "")


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.id)
def test_one_character_at_a_time_reads_the_same(case):
    found, shown = _streamed(list(case.text))
    assert _result(found) == _result(toolcalls.normalise(case.text, TOOLS))
    assert shown == (found.content or "")


# -- streaming behaviour ------------------------------------------------------------


def test_plain_text_is_handed_out_as_it_comes():
    reader = toolcalls.CallReader(TOOLS)
    shown = [reader.feed(part) for part in ["The weather ", "in Seoul ", "is mild", " today."]]
    # Everything but the trailing blank is out before the reply ends.
    assert shown == ["The weather", " in Seoul", " is mild", " today."]
    assert reader.finish() == ""
    assert reader.result and reader.result.content == "The weather in Seoul is mild today."


def test_text_is_held_from_where_a_call_may_start_until_it_is_decided():
    reader = toolcalls.CallReader(TOOLS)
    assert reader.feed("Let me check.\n<tool_") == "Let me check."
    assert reader.feed('call>{"name": "get_weather", ') == ""
    assert reader.feed('"arguments": {"city": "Seoul"}}</tool_call>') == ""
    assert reader.finish() == ""
    assert reader.result and _result(reader.result) == ("Let me check.", [SEOUL], [], [])


def test_a_fence_that_is_not_a_call_is_released_once_it_closes():
    reader = toolcalls.CallReader(TOOLS)
    assert reader.feed("Run this:\n``") == "Run this:"
    assert reader.feed("`python\nprint('hi')\n") == ""
    assert reader.feed("```\nDone") == "\n```python\nprint('hi')\n```\nDone"


@pytest.mark.parametrize(
    "parts",
    [
        ["<", "tool_call", ">", '{"name": "get_time", "arguments": {"timezone": "UTC"}}', "</", "tool_call>"],
        ["<|python", "_tag|>", "get_time(timezone=", '"UTC")', "<|eom", "_id|>"],
        ["`", "`", "`json\n", '{"name": "get_time", "arguments": {"timezone": "UTC"}}', "\n`", "``"],
        ["get", "_ti", "me(", 'timezone="UTC"', ")"],
    ],
    ids=["tag", "python-tag", "fence", "pythonic-name"],
)
def test_markers_split_across_chunks(parts):
    reader = toolcalls.CallReader(TOOLS)
    assert [reader.feed(p) for p in parts] == [""] * len(parts)
    assert reader.finish() == ""
    assert reader.result and _result(reader.result) == (None, [("get_time", {"timezone": "UTC"})], [], [])


def test_a_prefix_of_a_tool_name_that_goes_on_as_prose_is_released():
    reader = toolcalls.CallReader(TOOLS)
    assert reader.feed("get") == ""
    assert reader.feed(" some rest first.") == "get some rest first."


def test_what_was_not_shown_is_given_back_when_calls_fail():
    reader = toolcalls.CallReader(TOOLS)
    text = 'Checking now.\n[get_weather(city="Seoul", unit="kelvin")]'
    shown = reader.feed(text) + reader.finish()
    assert reader.result and reader.result.invalid
    assert shown + reader.unsent() == text


def test_a_json_reply_the_client_asked_for_is_not_a_call():
    text = '{"name": "get_weather", "arguments": {"city": "Seoul"}}'
    assert toolcalls.normalise(text, TOOLS, json_reply=True).calls == []
    tagged = f"<tool_call>{text}</tool_call>"
    assert len(toolcalls.normalise(tagged, TOOLS, json_reply=True).calls) == 1


def test_calls_the_engine_parsed_itself_are_checked_too():
    native = [
        {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Seoul"}'}},
        {"id": "b", "type": "function", "function": {"name": "set_alarm", "arguments": '{"hour": 99}'}},
        {"id": "c", "type": "function", "function": {"name": "launch", "arguments": "{}"}},
    ]
    found = toolcalls.normalise("", TOOLS, native=native)
    assert _result(found) == (None, [SEOUL], ["set_alarm", None], [])
