"""The transformers (CUDA) provider on CPU, with tiny random Llama and Mllama folders built here.

Runs in .venv-cuda (`make test-cuda`); the main run deselects it (`-m "not cuda"`). Random
weights write garbage, so these assert on mechanics: token counts, stop, seeds, stream
against whole, batching, the cross-attention path, constrained tool calls and JSON.
"""

import asyncio
import base64
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from herd.errors import InvalidRequest, ServerBusy

pytestmark = pytest.mark.cuda

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
HI = [{"role": "user", "content": "Hello there, how is the weather?"}]


@pytest.fixture(scope="session")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from herd.providers.transformers import tiny

    root = tmp_path_factory.mktemp("hf")
    return {
        "text": tiny.text_model(root / "text"),
        "vision": tiny.vision_model(root / "vision"),
        "guard": tiny.text_model(root / "guard", seed=1),
    }


async def provider(folders: dict[str, Path], **config: Any) -> Any:
    from herd.providers.transformers import get_provider_impl
    from herd.providers.transformers.config import TransformersInferenceConfig

    models = [
        {"id": "tiny", "path": str(folders["text"])},
        {"id": "tiny-vision", "path": str(folders["vision"]), "kind": "vision"},
        {"id": "llama-guard-3-1b", "path": str(folders["guard"]), "kind": "guard"},
        {"id": "llama-guard-3-11b-vision", "path": str(folders["vision"]), "kind": "guard"},
    ]
    impl = await get_provider_impl(TransformersInferenceConfig(models=models, **config), {})
    impl.__provider_id__ = "hf"
    return impl


def chat(**body: Any) -> Any:
    from llama_stack_api import OpenAIChatCompletionRequestWithExtraBody

    return OpenAIChatCompletionRequestWithExtraBody(**{"model": "tiny", "messages": HI, **body})


async def streamed(impl: Any, **body: Any) -> tuple[str, list[Any]]:
    chunks = [c async for c in await impl.openai_chat_completion(chat(stream=True, **body))]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


async def test_a_chat_reply_counts_its_tokens_and_stops_at_max_tokens(folders: dict[str, Path]) -> None:
    impl = await provider(folders)
    try:
        reply = await impl.openai_chat_completion(chat(max_tokens=12, temperature=0))
        loaded = impl.models["tiny"][0]
        prompt = loaded.tokenizer.apply_chat_template(HI, tokenize=False, add_generation_prompt=True)
        expected_prompt = len(loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        assert reply.usage.prompt_tokens == expected_prompt
        assert (reply.usage.completion_tokens, reply.choices[0].finish_reason) == (12, "length")
        assert [m.identifier for m in await impl.list_models()][:3] == ["tiny", "tiny-vision", "llama-guard-3-1b"]
    finally:
        await impl.shutdown()


async def test_stream_equals_the_whole_reply_at_temperature_zero(folders: dict[str, Path]) -> None:
    impl = await provider(folders)
    try:
        whole = await impl.openai_chat_completion(chat(max_tokens=16, temperature=0))
        text, chunks = await streamed(impl, max_tokens=16, temperature=0, stream_options={"include_usage": True})
        assert text == whole.choices[0].message.content and len(text) > 0
        assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens == 16
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
        assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 3  # token by token
    finally:
        await impl.shutdown()


async def test_a_seed_repeats_a_sampled_reply_and_another_seed_changes_it(folders: dict[str, Path]) -> None:
    impl = await provider(folders)
    try:
        texts = [
            (await impl.openai_chat_completion(chat(max_tokens=20, temperature=1.0, top_p=0.95, seed=s)))
            .choices[0]
            .message.content
            for s in (7, 7, 8)
        ]
        assert texts[0] == texts[1] != texts[2]
    finally:
        await impl.shutdown()


async def test_stop_cuts_the_reply_before_the_stop_string_streamed_or_not(folders: dict[str, Path]) -> None:
    impl = await provider(folders)
    try:
        free = (await impl.openai_chat_completion(chat(max_tokens=24, temperature=0))).choices[0].message.content
        stop = free[8:11]
        cut = free[: free.index(stop)]
        reply = await impl.openai_chat_completion(chat(max_tokens=24, temperature=0, stop=[stop]))
        assert (reply.choices[0].message.content, reply.choices[0].finish_reason) == (cut, "stop")
        text, _ = await streamed(impl, max_tokens=24, temperature=0, stop=stop)
        assert text == cut
    finally:
        await impl.shutdown()


async def test_concurrent_requests_decode_in_one_batch_and_match_alone(folders: dict[str, Path]) -> None:
    impl = await provider(folders, max_batch=8)
    try:
        prompts = [[{"role": "user", "content": "word " * (i + 1)}] for i in range(6)]
        alone = [
            (await impl.openai_chat_completion(chat(messages=p, max_tokens=10, temperature=0)))
            .choices[0]
            .message.content
            for p in prompts
        ]
        batcher = impl.models["tiny"][1]
        before = dict(batcher.stats)
        replies = await asyncio.gather(
            *(impl.openai_chat_completion(chat(messages=p, max_tokens=10, temperature=0)) for p in prompts)
        )
        assert [r.choices[0].message.content for r in replies] == alone
        assert batcher.stats["widest"] >= 3  # several sequences shared forward passes
        assert batcher.stats["decode_steps"] - before["decode_steps"] < 6 * 10
    finally:
        await impl.shutdown()


async def test_past_the_batch_and_queue_the_answer_is_503(folders: dict[str, Path]) -> None:
    impl = await provider(folders, max_batch=1, max_queue=0)
    try:
        busy = await impl.openai_chat_completion(chat(max_tokens=1900, temperature=0, stream=True))
        with pytest.raises(ServerBusy, match="retry shortly") as caught:
            await impl.openai_chat_completion(chat(max_tokens=5))
        assert caught.value.status_code == 503
        await busy.aclose()
    finally:
        await impl.shutdown()


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_choice_required_gives_a_call_that_fits_the_schema(folders: dict[str, Path], stream: bool) -> None:
    impl = await provider(folders)
    try:
        body = {"tools": [WEATHER, TIME], "tool_choice": "required", "max_tokens": 48, "seed": 3}
        if stream:
            _, chunks = await streamed(impl, **body)
            deltas = [c.choices[0].delta for c in chunks if c.choices]
            calls = [call for d in deltas for call in d.tool_calls or []]
            finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
        else:
            reply = await impl.openai_chat_completion(chat(**body))
            calls, finish = reply.choices[0].message.tool_calls, reply.choices[0].finish_reason
        assert len(calls) == 1 and finish == "tool_calls"
        name, arguments = calls[0].function.name, json.loads(calls[0].function.arguments)
        schema = {t["function"]["name"]: t["function"]["parameters"] for t in (WEATHER, TIME)}[name]
        jsonschema.validate(arguments, schema)
    finally:
        await impl.shutdown()


async def test_a_named_tool_choice_calls_that_function(folders: dict[str, Path]) -> None:
    impl = await provider(folders)
    try:
        choice = {"type": "function", "function": {"name": "get_weather"}}
        for seed in range(3):
            reply = await impl.openai_chat_completion(
                chat(tools=[TIME, WEATHER], tool_choice=choice, max_tokens=40, seed=seed)
            )
            (call,) = reply.choices[0].message.tool_calls
            assert call.function.name == "get_weather"
            jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])
    finally:
        await impl.shutdown()


async def test_a_json_schema_response_format_gives_json_that_fits(folders: dict[str, Path]) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "score": {"type": "number"},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3},
            "ok": {"type": "boolean"},
        },
        "required": ["title", "score", "tags", "ok"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "review", "schema": schema}}
    impl = await provider(folders)
    try:
        for seed in range(3):
            reply = await impl.openai_chat_completion(chat(response_format=fmt, max_tokens=40, seed=seed))
            jsonschema.validate(json.loads(reply.choices[0].message.content), schema)
        bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "a+"}}}
        with pytest.raises(InvalidRequest, match="pattern"):
            await impl.openai_chat_completion(chat(response_format=bad, max_tokens=8))
    finally:
        await impl.shutdown()


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def test_an_image_reaches_the_cross_attention_layers(folders: dict[str, Path]) -> None:
    impl = await provider(folders)
    try:
        loaded = impl.models["tiny-vision"][0]
        seen: list[Any] = []
        layer = loaded.model.model.language_model.layers[1].cross_attn
        handle = layer.register_forward_hook(
            lambda _m, args, kwargs, _out: seen.append(kwargs.get("cross_attention_states")), with_kwargs=True
        )

        def ask(content: Any) -> Any:
            messages = [{"role": "user", "content": content}]
            return impl.openai_chat_completion(
                chat(model="tiny-vision", messages=messages, max_tokens=6, temperature=0)
            )

        text = await ask("What?")
        assert seen == []  # text only: the cross-attention layers are skipped
        parts = [{"type": "image_url", "image_url": {"url": png((200, 10, 10))}}, {"type": "text", "text": "What?"}]
        red = await ask(parts)
        assert seen[0] is not None  # the prefill carried the image's vision states
        # ... and every later token's forward went through the layer again, reading them from the KV cache
        assert len(seen) == 6 and all(states is None for states in seen[1:])
        handle.remove()
        blue = await ask([{**parts[0], "image_url": {"url": png((10, 10, 220), (60, 20))}}, parts[1]])
        assert red.usage.prompt_tokens == blue.usage.prompt_tokens == text.usage.prompt_tokens + 1  # <|image|>
        with pytest.raises(InvalidRequest, match="reads no images"):
            await impl.openai_chat_completion(chat(messages=[{"role": "user", "content": parts}], max_tokens=4))
    finally:
        await impl.shutdown()


async def test_image_and_text_logits_differ(folders: dict[str, Path]) -> None:
    import torch

    from herd.providers.transformers.batcher import Cohort
    from herd.providers.transformers.decode import Job, Settings
    from herd.providers.transformers.prompts import encode, render_chat

    impl = await provider(folders)
    try:
        loaded = impl.models["tiny-vision"][0]
        parts = [{"type": "image_url", "image_url": {"url": png((200, 10, 10))}}, {"type": "text", "text": "What?"}]

        def first_logits(url: str) -> Any:
            content = [{**parts[0], "image_url": {"url": url}}, parts[1]]
            text, images = render_chat(loaded, [{"role": "user", "content": content}], None)
            return Cohort([Job(encode(loaded, text, images), Settings(max_tokens=1), lambda e: None)], loaded).first

        assert not torch.allclose(first_logits(png((200, 10, 10))), first_logits(png((10, 200, 10))))
    finally:
        await impl.shutdown()


async def test_llama_guard_on_this_provider_gets_its_prompt_and_answers_in_format(folders: dict[str, Path]) -> None:
    from herd.providers.shields.config import LlamaGuardShield
    from herd.providers.shields.guard import LlamaGuardRunner
    from herd.providers.shields.verdict import Turn

    impl = await provider(folders)
    try:
        loaded, batcher = impl.models["llama-guard-3-1b"]
        prompts: list[str] = []
        submit = batcher.submit
        batcher.submit = lambda job: (prompts.append(loaded.tokenizer.decode(job.inputs["input_ids"][0])), submit(job))
        shield = LlamaGuardShield(id="llama-guard", model="llama-guard-3-1b", excluded_categories=["S6"])
        runner = LlamaGuardRunner(shield, impl)
        for text in ("How do I kill a Python process that hangs?", "hello", "What is the weather?"):
            verdict = await runner.check([Turn("user", text)])
            assert not verdict.error and verdict.categories != ["unparsed-guard-output"], verdict
            # A random model's top tokens are rarely "safe"/"unsafe": the score comes from logprobs or the label.
            assert verdict.score_source in ("logprobs", "label") and 0.0 <= verdict.score <= 1.0
            assert set(verdict.categories) <= {f"S{i}" for i in range(1, 14)} - {"S6"}
        (prompt, *_) = prompts
        assert prompt.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>")
        assert "S1: Violent Crimes." in prompt and "S6:" not in prompt and "S14" not in prompt
        assert "User: How do I kill a Python process that hangs?" in prompt
    finally:
        await impl.shutdown()


async def test_the_vision_llama_guard_judges_an_image_through_chat(folders: dict[str, Path]) -> None:
    from herd.providers.shields.config import LlamaGuardShield
    from herd.providers.shields.guard import LlamaGuardRunner
    from herd.providers.shields.verdict import Turn

    impl = await provider(folders)
    try:
        loaded, batcher = impl.models["llama-guard-3-11b-vision"]
        jobs: list[Any] = []
        submit = batcher.submit
        batcher.submit = lambda job: (jobs.append(job), submit(job))
        runner = LlamaGuardRunner(LlamaGuardShield(id="guard-v", model="llama-guard-3-11b-vision"), impl)
        image = base64.b64decode(png((200, 10, 10)).split(",", 1)[1])
        verdict = await runner.check([Turn("user", "Is this safe to eat?", (image,))])
        assert not verdict.error and verdict.categories != ["unparsed-guard-output"], verdict
        (job,) = jobs
        assert job.has_images  # the image went through the Mllama processor
        prompt = loaded.tokenizer.decode(job.inputs["input_ids"][0])
        assert "<|image|>Task: Check if there is unsafe content in 'User' messages" in prompt
        assert "S14" not in prompt and "User: Is this safe to eat?" in prompt
    finally:
        await impl.shutdown()
