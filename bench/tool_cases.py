"""The fixed case set of the tool-calling benchmark (``bench/tool_calls.py``).

Nine tools an assistant app might declare, and 52 requests written the way users
write them. Each case offers a subset of the tools (the right one among plausible
others) and names the calls a correct reply makes. Every argument can be read
off the prompt or the tool's schema without guessing: cities and SKUs are spelled
out, dates come as ISO 8601, free text (subjects, titles) is quoted.

Categories: ``single`` (one call), ``parallel`` (two or three calls in one reply),
``nested`` (an object argument holding objects and arrays), ``no_tool`` (tools are
declared but the request needs none: the reply must be text).
"""

import json
from dataclasses import dataclass, field
from typing import Any

Call = tuple[str, dict[str, Any]]


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_UNITS = ["kilometers", "miles", "meters", "feet", "kilograms", "pounds", "celsius", "fahrenheit", "liters", "gallons"]
_EMAILS = {"type": "array", "items": {"type": "string"}, "description": "Email addresses"}
_ADDRESS = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Recipient's full name"},
        "street": {"type": "string", "description": "Street and house number"},
        "city": {"type": "string"},
        "postcode": {"type": "string"},
        "country": {"type": "string", "description": "ISO 3166-1 alpha-2 code, e.g. DE"},
    },
    "required": ["name", "street", "city", "postcode", "country"],
}

TOOLS: dict[str, dict[str, Any]] = {
    t["function"]["name"]: t
    for t in (
        _tool(
            "get_weather",
            "Get the current weather for a city.",
            {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            },
            ["city"],
        ),
        _tool(
            "get_time",
            "Get the current local time in a time zone.",
            {"timezone": {"type": "string", "description": "IANA time zone name, e.g. Europe/Paris"}},
            ["timezone"],
        ),
        _tool(
            "convert_currency",
            "Convert an amount of money from one currency to another at today's rate.",
            {
                "amount": {"type": "number"},
                "from_currency": {"type": "string", "description": "ISO 4217 code, e.g. USD"},
                "to_currency": {"type": "string", "description": "ISO 4217 code, e.g. EUR"},
            },
            ["amount", "from_currency", "to_currency"],
        ),
        _tool(
            "convert_units",
            "Convert a measurement from one unit to another.",
            {
                "value": {"type": "number"},
                "from_unit": {"type": "string", "enum": _UNITS},
                "to_unit": {"type": "string", "enum": _UNITS},
            },
            ["value", "from_unit", "to_unit"],
        ),
        _tool(
            "send_email",
            "Send an email.",
            {"to": _EMAILS, "subject": {"type": "string"}, "body": {"type": "string"}},
            ["to", "subject", "body"],
        ),
        _tool(
            "search_files",
            "Search the user's files by text.",
            {
                "query": {"type": "string", "description": "Text to look for"},
                "file_type": {
                    "type": "string",
                    "enum": ["any", "pdf", "docx", "xlsx", "txt"],
                    "default": "any",
                    "description": "Only files of this type (xlsx: spreadsheets, docx: Word documents)",
                },
                "folder": {"type": "string", "description": "Only files in this folder"},
            },
            ["query"],
        ),
        _tool(
            "create_ticket",
            "Open a ticket in the issue tracker.",
            {
                "title": {"type": "string"},
                "priority": {"type": "string", "enum": ["low", "medium", "high", "urgent"]},
            },
            ["title", "priority"],
        ),
        _tool(
            "create_calendar_event",
            "Add an event to the user's calendar.",
            {
                "event": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "start": {"type": "string", "description": "Local date-time, e.g. 2026-12-01T10:00"},
                        "end": {"type": "string", "description": "Local date-time, e.g. 2026-12-01T11:00"},
                        "attendees": _EMAILS,
                        "location": {"type": "string"},
                    },
                    "required": ["title", "start"],
                }
            },
            ["event"],
        ),
        _tool(
            "place_order",
            "Order products from the shop catalogue.",
            {
                "order": {
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
                                "required": ["sku", "quantity"],
                            },
                        },
                        "shipping": _ADDRESS,
                        "express": {"type": "boolean", "default": False},
                    },
                    "required": ["items", "shipping"],
                }
            },
            ["order"],
        ),
    )
}


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    messages: list[dict[str, Any]]
    tools: tuple[str, ...]
    expected: list[Call] = field(default_factory=list)

    def tool_dicts(self) -> list[dict[str, Any]]:
        return [TOOLS[name] for name in self.tools]


def _ask(case_id: str, category: str, prompt: str, tools: str, *expected: Call) -> Case:
    return Case(case_id, category, [{"role": "user", "content": prompt}], tuple(tools.split()), list(expected))


def _after_call(
    case_id: str, prompt: str, tools: str, call: Call, result: str, follow_up: tuple[str, str] | None = None
) -> Case:
    """A conversation where the tool already answered: the reply should use the result, not call again."""
    name, args = call
    tool_call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": None, "tool_calls": [tool_call]},
        {"role": "tool", "tool_call_id": "call_1", "content": result},
    ]
    if follow_up:
        answer, question = follow_up
        messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": question}]
    return Case(case_id, "no_tool", messages, tuple(tools.split()))


def _event(**fields: Any) -> Call:
    return ("create_calendar_event", {"event": fields})


def _order(items: list[tuple[str, int]], shipping: tuple[str, ...], express: bool = False) -> Call:
    keys = ("name", "street", "city", "postcode", "country")
    order: dict[str, Any] = {
        "items": [{"sku": sku, "quantity": n} for sku, n in items],
        "shipping": dict(zip(keys, shipping, strict=True)),
    }
    if express:
        order["express"] = True
    return ("place_order", {"order": order})


def _w(city: str, **extra: Any) -> Call:
    return ("get_weather", {"city": city, **extra})


def _t(zone: str) -> Call:
    return ("get_time", {"timezone": zone})


def _cur(amount: float, src: str, dst: str) -> Call:
    return ("convert_currency", {"amount": amount, "from_currency": src, "to_currency": dst})


def _u(value: float, src: str, dst: str) -> Call:
    return ("convert_units", {"value": value, "from_unit": src, "to_unit": dst})


def _mail(to: list[str], subject: str, body: str) -> Call:
    return ("send_email", {"to": to, "subject": subject, "body": body})


def _ticket(title: str, priority: str) -> Call:
    return ("create_ticket", {"title": title, "priority": priority})


def _files(query: str, **extra: Any) -> Call:
    return ("search_files", {"query": query, **extra})


S, P, N = "single", "parallel", "nested"
ALL = " ".join(TOOLS)

CASES: list[Case] = [
    # -- single --------------------------------------------------------------
    _ask("s01", S, "What's the weather like in Lisbon right now?", "get_weather get_time", _w("Lisbon")),
    _ask(
        "s02",
        S,
        "Is it cold in Oslo at the moment? Give me the temperature in fahrenheit.",
        "get_weather convert_units",
        _w("Oslo", unit="fahrenheit"),
    ),
    _ask("s03", S, "Check the current weather in Buenos Aires for me.", ALL, _w("Buenos Aires")),
    _ask("s04", S, "What time is it in Tokyo right now?", "get_time get_weather", _t("Asia/Tokyo")),
    _ask(
        "s05",
        S,
        "Can you tell me the current time in the America/Chicago time zone?",
        "get_time",
        _t("America/Chicago"),
    ),
    _ask(
        "s06",
        S,
        "I need to call a colleague in Sydney, Australia. What's the local time there?",
        "get_time send_email",
        _t("Australia/Sydney"),
    ),
    _ask("s07", S, "How much is 250 US dollars in euros?", "convert_currency convert_units", _cur(250, "USD", "EUR")),
    _ask("s08", S, "Convert 1,200 Japanese yen to British pounds.", ALL, _cur(1200, "JPY", "GBP")),
    _ask(
        "s09",
        S,
        "I have 75.50 Swiss francs. What is that in Canadian dollars?",
        "convert_currency get_weather",
        _cur(75.5, "CHF", "CAD"),
    ),
    _ask(
        "s10",
        S,
        "How many miles is 42.195 kilometers?",
        "convert_units convert_currency",
        _u(42.195, "kilometers", "miles"),
    ),
    _ask(
        "s11", S, "Convert 180 pounds to kilograms.", "convert_units convert_currency", _u(180, "pounds", "kilograms")
    ),
    _ask(
        "s12",
        S,
        "What is 350 degrees fahrenheit in celsius? It's for an oven recipe.",
        "convert_units get_weather",
        _u(350, "fahrenheit", "celsius"),
    ),
    _ask(
        "s13",
        S,
        'Send an email to maria@example.com with the subject "Lunch on Friday" and the body '
        '"Are you free for lunch on Friday at 12:30?"',
        "send_email create_calendar_event",
        _mail(["maria@example.com"], "Lunch on Friday", "Are you free for lunch on Friday at 12:30?"),
    ),
    _ask(
        "s14",
        S,
        'Email ops@example.com and dev@example.com, subject "Deploy tonight", body "The release goes out at 22:00 UTC."',
        "send_email create_ticket",
        _mail(["ops@example.com", "dev@example.com"], "Deploy tonight", "The release goes out at 22:00 UTC."),
    ),
    _ask(
        "s15",
        S,
        'Please write to jonas.berg@example.org. Subject: "Invoice 2291". Body: "Attached is invoice 2291 for November."',
        ALL,
        _mail(["jonas.berg@example.org"], "Invoice 2291", "Attached is invoice 2291 for November."),
    ),
    _ask(
        "s16",
        S,
        'Search my files for "tax return 2025", PDFs only.',
        "search_files send_email",
        _files("tax return 2025", file_type="pdf"),
    ),
    _ask(
        "s17",
        S,
        'Look for spreadsheets matching "Q3 budget" in the folder Finance.',
        "search_files create_ticket",
        _files("Q3 budget", file_type="xlsx", folder="Finance"),
    ),
    _ask(
        "s18",
        S,
        'Open a ticket titled "Login page returns 500" with high priority.',
        "create_ticket send_email",
        _ticket("Login page returns 500", "high"),
    ),
    _ask(
        "s19",
        S,
        'Create an urgent ticket: "Payment webhook is down".',
        ALL,
        _ticket("Payment webhook is down", "urgent"),
    ),
    _ask(
        "s20",
        S,
        'File a low-priority ticket called "Typo in footer".',
        "create_ticket search_files",
        _ticket("Typo in footer", "low"),
    ),
    # -- parallel ------------------------------------------------------------
    _ask("p01", P, "What's the weather in Paris and in Tokyo?", "get_weather get_time", _w("Paris"), _w("Tokyo")),
    _ask(
        "p02",
        P,
        "What time is it in Europe/London and in America/New_York?",
        "get_time get_weather",
        _t("Europe/London"),
        _t("America/New_York"),
    ),
    _ask(
        "p03",
        P,
        "Convert 100 euros to US dollars, and 100 euros to Japanese yen.",
        "convert_currency",
        _cur(100, "EUR", "USD"),
        _cur(100, "EUR", "JPY"),
    ),
    _ask(
        "p04",
        P,
        "Give me the current weather in Berlin, Madrid and Rome.",
        ALL,
        _w("Berlin"),
        _w("Madrid"),
        _w("Rome"),
    ),
    _ask(
        "p05",
        P,
        "What's the weather in Toronto, and what time is it there (America/Toronto)?",
        "get_weather get_time",
        _w("Toronto"),
        _t("America/Toronto"),
    ),
    _ask(
        "p06",
        P,
        "How many kilometers are 10 miles, and how many pounds are 5 kilograms?",
        "convert_units convert_currency",
        _u(10, "miles", "kilometers"),
        _u(5, "kilograms", "pounds"),
    ),
    _ask(
        "p07",
        P,
        'Open two tickets: "Search is slow" with medium priority and "Dark mode colours wrong" with low priority.',
        "create_ticket send_email",
        _ticket("Search is slow", "medium"),
        _ticket("Dark mode colours wrong", "low"),
    ),
    _ask(
        "p08",
        P,
        'Email anna@example.com with subject "Printer" and body "The printer is offline again." '
        'and also open a high-priority ticket titled "Printer offline".',
        "send_email create_ticket",
        _mail(["anna@example.com"], "Printer", "The printer is offline again."),
        _ticket("Printer offline", "high"),
    ),
    _ask(
        "p09",
        P,
        'Search my files for "contract" and, separately, for "NDA".',
        "search_files",
        _files("contract"),
        _files("NDA"),
    ),
    _ask(
        "p10",
        P,
        "Convert 20 celsius to fahrenheit and tell me the weather in Cairo.",
        "convert_units get_weather",
        _u(20, "celsius", "fahrenheit"),
        _w("Cairo"),
    ),
    # -- nested --------------------------------------------------------------
    _ask(
        "n01",
        N,
        'Add "Quarterly planning" to my calendar from 2026-12-01T10:00 to 2026-12-01T11:00 '
        "with ana@example.com and li@example.com.",
        "create_calendar_event send_email",
        _event(
            title="Quarterly planning",
            start="2026-12-01T10:00",
            end="2026-12-01T11:00",
            attendees=["ana@example.com", "li@example.com"],
        ),
    ),
    _ask(
        "n02",
        N,
        'Schedule "Dentist" from 2026-11-14T08:30 to 2026-11-14T09:15 at "Main Street Clinic".',
        "create_calendar_event get_time",
        _event(title="Dentist", start="2026-11-14T08:30", end="2026-11-14T09:15", location="Main Street Clinic"),
    ),
    _ask(
        "n03",
        N,
        'Create a calendar event "Team offsite" starting 2027-01-20T09:00 and ending 2027-01-20T17:00 at '
        '"Lakeside Hotel"; attendees: sam@example.com, priya@example.com and tom@example.com.',
        ALL,
        _event(
            title="Team offsite",
            start="2027-01-20T09:00",
            end="2027-01-20T17:00",
            attendees=["sam@example.com", "priya@example.com", "tom@example.com"],
            location="Lakeside Hotel",
        ),
    ),
    _ask(
        "n04",
        N,
        'Book "1:1 with Kim" from 2026-12-03T15:00 to 2026-12-03T15:30 and invite kim@example.com.',
        "create_calendar_event send_email",
        _event(title="1:1 with Kim", start="2026-12-03T15:00", end="2026-12-03T15:30", attendees=["kim@example.com"]),
    ),
    _ask(
        "n05",
        N,
        'Put "Flight to Lisbon" in my calendar from 2026-12-18T06:45 to 2026-12-18T09:10.',
        "create_calendar_event get_weather",
        _event(title="Flight to Lisbon", start="2026-12-18T06:45", end="2026-12-18T09:10"),
    ),
    _ask(
        "n06",
        N,
        "Order 2 of SKU KB-104 and 1 of SKU MS-220, shipped to Lena Fischer, street Hauptstrasse 5, "
        "postcode 10115, city Berlin, country DE.",
        "place_order search_files",
        _order([("KB-104", 2), ("MS-220", 1)], ("Lena Fischer", "Hauptstrasse 5", "Berlin", "10115", "DE")),
    ),
    _ask(
        "n07",
        N,
        "Place an order for 3 units of SKU CAB-USB-C with express shipping to Omar Haddad, "
        "12 King Street, Manchester, postcode M2 4LQ, country GB.",
        "place_order convert_currency",
        _order([("CAB-USB-C", 3)], ("Omar Haddad", "12 King Street", "Manchester", "M2 4LQ", "GB"), express=True),
    ),
    _ask(
        "n08",
        N,
        "Please order one SKU MON-27 for delivery to Julia Costa, Rua Augusta 100, Lisboa, "
        "postcode 1100-053, country PT.",
        ALL,
        _order([("MON-27", 1)], ("Julia Costa", "Rua Augusta 100", "Lisboa", "1100-053", "PT")),
    ),
    _ask(
        "n09",
        N,
        "I need 10 of SKU PEN-BLK and 5 of SKU PAD-A5 sent to Dana Lee, 1 Market Street, San Francisco, "
        "postcode 94105, country US.",
        "place_order send_email",
        _order([("PEN-BLK", 10), ("PAD-A5", 5)], ("Dana Lee", "1 Market Street", "San Francisco", "94105", "US")),
    ),
    _ask(
        "n10",
        N,
        "Order 1 of SKU LAMP-02 by express to Aiko Tanaka, 3-1 Marunouchi, Tokyo, postcode 100-0005, country JP.",
        "place_order get_time",
        _order([("LAMP-02", 1)], ("Aiko Tanaka", "3-1 Marunouchi", "Tokyo", "100-0005", "JP"), express=True),
    ),
    # -- no tool needed ------------------------------------------------------
    _ask("t01", "no_tool", "Hi! How are you today?", "get_weather get_time"),
    _ask("t02", "no_tool", "What is the capital of Australia?", "get_weather convert_currency"),
    _ask(
        "t03",
        "no_tool",
        "Write a Python function that checks whether a string is a palindrome.",
        "search_files create_ticket",
    ),
    _ask("t04", "no_tool", "Thanks, that's all I needed!", "send_email create_calendar_event"),
    _ask("t05", "no_tool", "Explain in two sentences what a hash map is.", "search_files"),
    _ask("t06", "no_tool", "What does HTTP stand for?", "get_weather get_time convert_currency"),
    _ask("t07", "no_tool", "Translate 'good morning' into Spanish.", "send_email"),
    _ask("t08", "no_tool", "What is 17 multiplied by 23?", "convert_currency convert_units"),
    _ask("t09", "no_tool", "Tell me a short joke about programmers.", "create_ticket"),
    _ask("t10", "no_tool", "Who wrote Pride and Prejudice?", ALL),
    _after_call(
        "t11",
        "What's the weather in Paris?",
        "get_weather get_time",
        _w("Paris"),
        '{"temperature_c": 18, "sky": "cloudy"}',
    ),
    _after_call(
        "t12",
        "How much is 250 US dollars in euros?",
        "convert_currency",
        _cur(250, "USD", "EUR"),
        '{"amount": 231.75, "currency": "EUR"}',
        ("250 US dollars is 231.75 euros.", "Great, is that more or less than 200 euros?"),
    ),
]
