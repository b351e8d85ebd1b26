"""Tool definitions and turns shared by the tool-calling tests."""

import json
from typing import Any

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the current time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string", "description": "An IANA time zone"}},
            "required": ["timezone"],
        },
    },
}
WEATHER_RESULT = {"temperature_c": 21, "sky": "sunny"}


def with_tool_result(question: list[dict[str, Any]], call: Any, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation after the assistant made ``call`` (an SDK tool call) and the tool answered."""
    return [
        *question,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call.id, "type": "function", "function": call.function.model_dump()}],
        },
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)},
    ]
