"""The running server, driven with the official llama-stack-client SDK.

The chat model is SmolLM2-135M: fast but not smart, so these tests check behaviour
any model must show (shapes, ids, determinism, constrained output), not the quality
of what it writes.
"""

import json
import math

import pytest
from llama_stack_client import NotFoundError

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}},
        "required": ["city"],
    },
}


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def _messages(items: list) -> list:
    return [item for item in items if item.type == "message"]


def _text_of(item) -> str:
    content = item.content
    if isinstance(content, str):
        return content
    return "".join(getattr(part, "text", "") or "" for part in content)


# -- models ------------------------------------------------------------------


def test_models_list_has_both_models_with_types_and_metadata(ls_client, chat_model, embedding_model):
    models = {m.id: m for m in ls_client.models.list()}

    assert chat_model in models, f"{chat_model} missing from {sorted(models)}"
    assert embedding_model in models, f"{embedding_model} missing from {sorted(models)}"
    chat, embedding = models[chat_model], models[embedding_model]
    assert chat.model_type == "llm"
    assert embedding.model_type == "embedding"
    assert chat.provider_id == embedding.provider_id == "herd"
    assert chat.provider_resource_id == "smollm2-135m-instruct"
    assert embedding.custom_metadata["embedding_dimension"] == 384
    assert chat.custom_metadata["context_length"] == 8192
    assert "tools" in chat.custom_metadata["capabilities"]


# -- chat --------------------------------------------------------------------


def test_chat_completion(ls_client, chat_model):
    response = ls_client.chat.completions.create(
        model=chat_model,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=16,
    )

    assert response.model == chat_model
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert 0 < response.usage.completion_tokens <= 16
    assert response.usage.prompt_tokens > 0


def test_chat_streaming_matches_non_streaming(ls_client, chat_model):
    request = {
        "model": chat_model,
        "messages": [{"role": "user", "content": "Name three colours."}],
        "max_tokens": 24,
        "temperature": 0,
        "seed": 42,
    }
    whole = ls_client.chat.completions.create(**request).choices[0].message.content

    chunks = list(ls_client.chat.completions.create(**request, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]

    assert len(chunks) > 2, "expected the reply in several chunks"
    assert streamed == whole
    assert finish and finish[-1] in ("stop", "length")


# -- embeddings --------------------------------------------------------------


def test_embeddings_are_unit_length_and_semantic(ls_client, embedding_model):
    texts = ["a cat sat on the mat", "a kitten sat on a rug", "stock market report"]
    response = ls_client.embeddings.create(model=embedding_model, input=texts)

    vectors = [d.embedding for d in sorted(response.data, key=lambda d: d.index)]
    assert len(vectors) == 3
    for vector in vectors:
        assert len(vector) == 384
        assert math.sqrt(sum(x * x for x in vector)) == pytest.approx(1.0, abs=1e-3)
    cat, kitten, stocks = vectors
    assert _cosine(cat, kitten) > _cosine(cat, stocks) + 0.1
    assert response.usage.prompt_tokens > 0


# -- responses ---------------------------------------------------------------


def test_responses_function_tool_round_trip(ls_client, chat_model):
    first = ls_client.responses.create(
        model=chat_model,
        input="What is the weather in Paris right now?",
        tools=[WEATHER_TOOL],
        tool_choice="required",
        max_output_tokens=64,
        temperature=0,  # sampled, the tiny model may ramble in the city string past the limit
    )

    calls = [item for item in first.output if item.type == "function_call"]
    assert calls, f"expected a function_call item, got {first.output}"
    call = calls[0]
    assert call.name == "get_weather"
    arguments = json.loads(call.arguments)
    assert isinstance(arguments, dict) and isinstance(arguments.get("city"), str)
    assert call.call_id

    second = ls_client.responses.create(
        model=chat_model,
        previous_response_id=first.id,
        input=[
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": json.dumps({"city": arguments["city"], "temperature_c": 21, "sky": "sunny"}),
            }
        ],
        max_output_tokens=32,
        temperature=0,
    )

    assert second.id != first.id
    messages = _messages(second.output)
    assert messages, f"expected a message after the tool result, got {second.output}"
    assert _text_of(messages[-1]).strip()
    assert second.output_text.strip()
    # The follow-up was built on the first response: its inputs hold the call and its output.
    history = ls_client.responses.input_items.list(second.id, order="asc").data
    types = [item.type for item in history]
    assert "function_call" in types and "function_call_output" in types, types


def test_responses_previous_response_id_carries_history(ls_client, chat_model):
    first = ls_client.responses.create(
        model=chat_model,
        input="My name is Zorblax. Say hello to me.",
        max_output_tokens=16,
        temperature=0,
    )
    assert first.output_text.strip()

    second = ls_client.responses.create(
        model=chat_model,
        input="What is my name?",
        previous_response_id=first.id,
        max_output_tokens=16,
        temperature=0,
    )

    assert second.id != first.id
    assert second.output_text.strip()
    history = ls_client.responses.input_items.list(second.id, order="asc").data
    texts = [_text_of(item) for item in _messages(history)]
    roles = [item.role for item in _messages(history)]
    assert any("Zorblax" in t for t in texts), f"first turn missing from the second's inputs: {texts}"
    assert texts[-1] == "What is my name?"
    assert "assistant" in roles, "the first reply should be part of the second's inputs"

    retrieved = ls_client.responses.retrieve(first.id)
    assert retrieved.id == first.id
    assert retrieved.output_text == first.output_text


def test_conversation_collects_turns(ls_client, chat_model):
    conversation = ls_client.conversations.create(metadata={"test": "herd"})
    assert conversation.id

    response = ls_client.responses.create(
        model=chat_model,
        input="Say hi in three words.",
        conversation=conversation.id,
        max_output_tokens=16,
    )
    assert response.output_text.strip()

    items = ls_client.conversations.items.list(conversation.id, order="asc").data
    messages = _messages(items)
    roles = [m.role for m in messages]
    assert roles == ["user", "assistant"], roles
    assert _text_of(messages[0]) == "Say hi in three words."
    assert _text_of(messages[1]) == response.output_text


# -- files -------------------------------------------------------------------


def test_files_upload_list_retrieve_download_delete(ls_client):
    data = b"Herd keeps its files on local disk.\nline two\n"
    uploaded = ls_client.files.create(file=("notes.txt", data, "text/plain"), purpose="assistants")

    assert uploaded.id
    assert uploaded.bytes == len(data)
    assert uploaded.filename == "notes.txt"
    assert uploaded.purpose == "assistants"
    assert uploaded.id in [f.id for f in ls_client.files.list()]
    retrieved = ls_client.files.retrieve(uploaded.id)
    assert (retrieved.id, retrieved.bytes, retrieved.filename) == (uploaded.id, len(data), "notes.txt")
    assert ls_client.files.with_raw_response.content(uploaded.id).read() == data
    assert ls_client.files.content(uploaded.id) == data.decode()

    deleted = ls_client.files.delete(uploaded.id)
    assert deleted.deleted is True
    with pytest.raises(NotFoundError):
        ls_client.files.retrieve(uploaded.id)
    assert uploaded.id not in [f.id for f in ls_client.files.list()]
