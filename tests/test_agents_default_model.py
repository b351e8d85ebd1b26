"""Agents and their recipes on the default model (Qwen2.5-Coder-1.5B), through a real server.

Slow: one server with the 1.5B model serves every test here. The agents are the
built-in ones plus ``office``, which calls a real MCP server's tools server-side.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from PIL import Image, ImageDraw, ImageFont

from herd.distribution import templates
from tests.conftest import HERD
from tests.office_mcp import running_office_mcp

pytestmark = pytest.mark.slow

NOTES = Path(__file__).with_name("notes_mcp.py")
NOTE_KEEPER = {
    "name": "note-keeper",
    "description": "Keeps the user's notes.",
    "instructions": "You keep the user's notes. To save a note, call write_note with its title and text.",
    "model": "herd/qwen2.5-coder-1.5b-instruct",
    "tools": [
        {
            "type": "mcp",
            "server_label": "notes",
            "server_url": "herd://herd::mcp/notes",
            "allowed_tools": ["read_note", "write_note"],
        }
    ],
    "temperature": 0,
    "max_turns": 3,
}
ORDER_FACT = "Order A-1047 shipped on 2026-11-20 via DHL, tracking number 7731-XQ."


@pytest.fixture(scope="module")
def office() -> Any:
    with running_office_mcp() as office:
        yield office


@pytest.fixture(scope="module")
def server(
    default_model_weights: Path, herd_server_factory: Any, tmp_path_factory: pytest.TempPathFactory, office: Any
) -> Any:
    agents = tmp_path_factory.mktemp("agents")
    spec = {
        "name": "office",
        "description": "Answers questions about the office with its tools.",
        "instructions": "Answer questions about the office. Use the tools to look facts up, then answer in one "
        "sentence that quotes what they returned.",
        "model": "herd/qwen2.5-coder-1.5b-instruct",
        "tools": [{"type": "mcp", "server_label": "office", "server_url": office.url}],
        "tool_choice": "required",
        "temperature": 0,
        "max_turns": 3,
    }
    (agents / "office.yaml").write_text(yaml.safe_dump(spec))
    (agents / "note-keeper.yaml").write_text(yaml.safe_dump(NOTE_KEEPER))
    config = templates.embedded()
    for provider in config["providers"]["tool_runtime"]:
        if provider["provider_type"] == "inline::herd-mcp":
            provider["config"] = {"servers": [{"name": "notes", "command": [sys.executable, str(NOTES)]}]}
    server = herd_server_factory(config, "herd-agents", ("--agents", str(agents)))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server: Any) -> Any:
    from llama_stack_client import LlamaStackClient

    return LlamaStackClient(base_url=server.base_url, timeout=300, max_retries=0)


def _herd(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HERD), "agents", "run", *args, "--url", server.base_url], capture_output=True, text=True, timeout=600
    )


def test_an_agent_by_name_calls_its_server_tool(client: Any, office: Any) -> None:
    response = client.responses.create(model="agent:office", input="What is the door code of the Orion room?")

    calls = [item for item in response.output if item.type == "mcp_call"]
    assert calls and calls[0].name == "door_code", [item.type for item in response.output]
    assert ("door_code", {"room": "Orion"}) in office.calls or any(c[0] == "door_code" for c in office.calls)
    assert "5521" in response.output_text
    assert response.metadata["herd_agent"] == "office"


def test_the_analyst_computes_with_the_code_tool_and_answers_with_the_result(server: Any) -> None:
    """The built-in ``analyst`` runs Python in the sandbox through the Responses code_interpreter tool."""
    import openai

    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="none", max_retries=0, timeout=300)
    response = client.responses.create(model="agent:analyst", input="What is 3 to the power 50, modulo 1000003?")
    runs = [item for item in response.output if item.type == "code_interpreter_call"]
    assert runs, [item.type for item in response.output]
    assert runs[0].status == "completed" and runs[0].container_id == "herd-sandbox"
    logs = "".join(o.logs for o in runs[0].outputs or [] if o.type == "logs")
    assert logs.strip() == str(pow(3, 50, 1000003))  # 718524
    assert str(pow(3, 50, 1000003)) in response.output_text


def test_a_later_turn_uses_an_earlier_tool_result(client: Any) -> None:
    from llama_stack_client.lib.agents.agent import Agent
    from llama_stack_client.lib.agents.client_tool import client_tool

    calls: list[str] = []

    @client_tool
    def get_order_status(order_id: str) -> str:
        """Look up where an order is.

        :param order_id: the order's id, e.g. A-1047
        :returns: the order's shipping status
        """
        calls.append(order_id)
        return ORDER_FACT

    agent = Agent(client, model="agent:assistant", instructions="", tools=[get_order_status])
    session = agent.create_session("orders")
    first = agent.create_turn(
        messages=[{"role": "user", "content": "Where is my order A-1047?"}], session_id=session, stream=False
    )
    second = agent.create_turn(
        messages=[{"role": "user", "content": "Which carrier has it, and what is its tracking number?"}],
        session_id=session,
        stream=False,
    )

    assert calls and calls[0] == "A-1047"
    assert "2026-11-20" in first.output_text or "DHL" in first.output_text
    assert "7731" in second.output_text and "DHL" in second.output_text


def _chart(path: Path) -> Path:
    image = Image.new("RGB", (800, 500), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=28)
    draw.text((200, 20), "Monthly sales (units)", fill="black", font=ImageFont.load_default(size=34))
    for i, (month, value) in enumerate([("Jan", 120), ("Feb", 340), ("Mar", 210), ("Apr", 180)]):
        x, top = 100 + i * 170, 450 - value
        draw.rectangle([x, top, x + 90, 450], fill=(70, 110, 200))
        draw.text((x + 15, top - 38), str(value), fill="black", font=font)
        draw.text((x + 20, 458), month, fill="black", font=font)
    image.save(path)
    return path


def test_the_chart_reader_answers_from_an_image_read_by_ocr(server: Any, tmp_path: Path) -> None:
    chart = _chart(tmp_path / "chart.png")

    result = _herd(server, "chart-reader", "How many units were sold in March?", "--image", str(chart))

    assert result.returncode == 0, result.stderr
    assert "210" in result.stdout
    # The steps are streamed: the route, then the vision stage saying it only read text.
    assert "[route] prefer-local: 'compose/vision-composed' (local" in result.stderr
    assert "no vision model" in result.stderr and "Mar: 210" in result.stderr


def test_the_calendar_recipe_writes_an_invite_from_a_chat(server: Any, tmp_path: Path) -> None:
    chat = (
        "Ana: can we do the budget review on 2026-12-03 at 14:00? Ben: works for me, room Orion. "
        "Ana: great, Chloe joins too. Let's keep it to 90 minutes."
    )
    invite = tmp_path / "review.ics"

    result = _herd(server, "calendar-invite", chat, "--out", str(invite))

    assert result.returncode == 0, result.stderr
    text = invite.read_bytes().decode()  # read_text would turn the CRLF line ends into \n
    assert "DTSTART:20261203T140000\r\n" in text
    assert "DTEND:20261203T153000\r\n" in text
    assert "LOCATION:Orion" in text
    assert "Chloe" in text


def test_the_summary_recipe_reads_the_last_messages_of_a_conversation(server: Any, client: Any) -> None:
    turns = [
        ("user", "Morning! The launch slipped, the installer still fails on Windows."),
        ("assistant", "Noted. Who is fixing the installer?"),
        ("user", "Priya will fix the Windows installer by Friday."),
        ("user", "And Tom will update the release notes once it is fixed."),
    ]
    conversation = client.conversations.create(items=[{"type": "message", "role": r, "content": t} for r, t in turns])

    result = _herd(server, "summarise-actions", "Summarise it.", "--conversation", conversation.id, "--last", "4")

    assert result.returncode == 0, result.stderr
    import json

    answer = json.loads(result.stdout)
    owners = {(item["owner"] or "").lower() for item in answer["action_items"]}
    assert {"priya", "tom"} <= owners, answer
    assert "installer" in answer["summary"].lower()


def test_the_tone_recipe_rewrites_formally_and_keeps_the_facts(server: Any) -> None:
    text = "hey team, cant make the 3pm sync tmrw (Dec 2), sry! Bob can cover"

    result = _herd(server, "tone", f"Rewrite in a formal tone: {text}")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Bob" in out and ("3" in out) and ("2" in out)
    assert not {"hey", "sry", "tmrw", "cant"} & set(out.lower().replace(",", " ").split())


async def test_a_note_waits_for_approval_and_is_saved_once_approved_from_the_chat_client(server: Any) -> None:
    """The approval round trip of `herd chat` on the real model: the call waits, then runs when approved."""
    from herd.apps.chat.client import LlamaStackChatClient
    from herd.apps.chat.events import ApprovalRequest, Decision, Finished, Settings, ToolCall

    chat = LlamaStackChatClient(server.base_url)
    settings = Settings("agent:note-keeper")
    conversation = (await chat.create_conversation("notes", settings)).id
    ask = 'Save a note titled "plan" with the text "ship on Friday".'
    asked = [e async for e in chat.send(conversation, ask, (), settings)]
    requests = [e for e in asked if isinstance(e, ApprovalRequest)]
    assert requests and requests[0].name == "write_note", asked
    assert json.loads(requests[0].arguments)["title"] == "plan"
    assert not [e for e in asked if isinstance(e, ToolCall) and e.name == "write_note"]  # not run yet
    approved = [e async for e in chat.decide(conversation, [Decision(r, True) for r in requests], settings)]
    ran = [e for e in approved if isinstance(e, ToolCall) and e.done and e.name == "write_note"]
    assert ran and ran[0].output == "saved note 'plan'", approved
    assert isinstance(approved[-1], Finished)
    read = {"tool": "notes__read_note", "arguments": {"title": "plan"}}
    saved = httpx.post(f"{server.base_url}/v1/herd/tools/invoke", json=read, timeout=60).json()["content"]
    assert "friday" in saved.lower()
    await chat.close()
