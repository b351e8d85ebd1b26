"""The llama-stack-client ``Agent`` with a client tool, end to end on the default model.

The Agent asks the server (Responses API) for a turn, runs the client tool the model
calls, sends its output back, and the model's final answer must use that output.
Slow: a real server with Qwen2.5-Coder-1.5B on the CPU; ten independent sessions.
"""

from dataclasses import dataclass, field
from typing import Any

import pytest
from llama_stack_client import LlamaStackClient
from llama_stack_client.lib.agents.agent import Agent
from llama_stack_client.lib.agents.client_tool import ClientTool, client_tool
from llama_stack_client.lib.agents.turn_events import StepCompleted, TurnCompleted, TurnFailed

from herd.distribution import templates

pytestmark = pytest.mark.slow

MODEL = "herd/qwen2.5-coder-1.5b-instruct"
RUNS = 10
NEEDED = 9
QUESTION = "Has my order A-1047 shipped yet? What's the tracking number?"
STATUS = "Order A-1047 shipped on 2026-11-20 via DHL, tracking number 7731."
FACT = "7731"  # appears nowhere but in the tool's output
# One lookup answers the question; a model that calls the tool again after its result
# gets one more try, then the run counts as a miss (it could loop for ever).
MAX_TOOL_STEPS = 2


@dataclass
class Run:
    tool_args: list[Any] = field(default_factory=list)
    final_text: str = ""
    failure: str = ""
    events: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.tool_args) and FACT in self.final_text

    def describe(self) -> str:
        head = f"tool calls {self.tool_args}; final text {self.final_text!r}"
        return head + (f"; {self.failure}" if self.failure else "") + "\n      events: " + " | ".join(self.events)


def order_tool(record: list[Any]) -> ClientTool:
    def get_order_status(order_id: str) -> str:
        """Look up the shipping status of a customer's order.

        :param order_id: The order number, e.g. A-1047
        """
        record.append(order_id)
        return STATUS if order_id.strip().upper() == "A-1047" else f"No order {order_id} was found."

    return client_tool(get_order_status)


@pytest.fixture(scope="module")
def client(default_model_weights, herd_server_factory):
    server = herd_server_factory(templates.embedded(), "herd-agent")
    yield LlamaStackClient(base_url=server.base_url, timeout=180, max_retries=0)
    server.stop()


def one_run(client: LlamaStackClient, index: int) -> Run:
    run = Run()
    agent = Agent(
        client,
        model=MODEL,
        instructions="You are a customer-support assistant. Use the tools to look up orders.",
        tools=[order_tool(run.tool_args)],
    )
    session = agent.create_session(f"order-question-{index}")
    tool_steps = 0
    for chunk in agent.create_turn([{"role": "user", "content": QUESTION}], session_id=session, stream=True):
        event = chunk.event
        if isinstance(event, StepCompleted):
            result = event.result
            if event.step_type == "inference":
                calls = [(c.tool_name, c.arguments) for c in result.function_calls]
                run.events.append(f"inference text={result.text_content!r} calls={calls}")
            else:
                tool_steps += 1
                run.events.append(f"tool output={[r['content'] for r in result.tool_responses]}")
                if tool_steps >= MAX_TOOL_STEPS:
                    run.failure = f"the model was still calling tools after {tool_steps} tool steps"
                    break
        elif isinstance(event, TurnCompleted):
            run.final_text = event.final_text
        elif isinstance(event, TurnFailed):
            run.failure = f"turn failed: {event.error_message}"
    return run


def test_agent_answers_with_the_client_tools_result(client):
    runs = [one_run(client, i) for i in range(RUNS)]

    good = sum(run.ok for run in runs)
    print(f"\nAgent used the client tool's result in {good} of {RUNS} runs")
    for i, run in enumerate(runs):
        print(f"  run {i}: {'ok' if run.ok else 'MISS'} {run.describe()}")
    misses = "\n".join(f"  run {i}: {run.describe()}" for i, run in enumerate(runs) if not run.ok)
    assert good >= NEEDED, f"only {good} of {RUNS} answers used the tool's result ({FACT!r}); misses:\n{misses}"
