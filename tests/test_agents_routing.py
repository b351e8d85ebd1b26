"""Agents by name, the privacy router and a pluggable vision stage, through a real server.

The server runs the tiny model and two models behind a fake OpenAI-compatible
endpoint that opens the images it gets (tests/fake_vision.py): ``far/fake-vision``, a
vLLM-type provider the run config declares remote, and ``compose/vision-fake``, a
composed model whose vision stage is that endpoint. The fake records every
request, so a refused request is shown not to have left.
"""

import base64
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from herd.distribution import templates
from tests.conftest import CHAT_MODEL, TINY_MODEL
from tests.fake_vision import MODEL as FAKE_MODEL
from tests.fake_vision import running_fake_vision

FAR_MODEL = f"far/{FAKE_MODEL}"  # llama-stack names registered models provider_id/provider_model_id
AGENTS = {
    "private": {"model": FAR_MODEL, "routing": {"policy": "local-only"}},
    "routed": {
        "model": FAR_MODEL,
        "routing": {"policy": "prefer-local", "fallbacks": [CHAT_MODEL]},
    },
    "outward": {"model": FAR_MODEL, "routing": {"policy": "allow-remote", "images_remote": True}},
}


def _red_png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), "red").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _config(fake_url: str) -> dict[str, Any]:
    config = templates.embedded(chat_model=TINY_MODEL)
    inference = config["providers"]["inference"]
    compose = next(p for p in inference if p["provider_id"] == "compose")
    compose["config"]["models"].append(
        {
            "id": "vision-fake",
            "reasoner": CHAT_MODEL,
            "vision": {"kind": "openai", "url": fake_url, "model": FAKE_MODEL},
        }
    )
    inference.append({"provider_id": "far", "provider_type": "remote::vllm", "config": {"base_url": fake_url}})
    config["registered_resources"]["models"].append(
        {"model_id": FAKE_MODEL, "provider_id": "far", "provider_model_id": FAKE_MODEL, "model_type": "llm"}
    )
    # The fake listens on loopback; the policy is told to treat its provider as remote.
    config["herd"] = {"privacy": {"policy": "allow-remote", "images_remote": False, "remote_providers": ["far"]}}
    return config


@pytest.fixture(scope="module")
def setup(herd_server_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    import yaml

    agents_dir = tmp_path_factory.mktemp("agents")
    for name, spec in AGENTS.items():
        body = {"name": name, "instructions": "Answer in one short sentence.", "max_turns": 2, **spec}
        (agents_dir / f"{name}.yaml").write_text(yaml.safe_dump(body))
    with running_fake_vision(lifetime=900) as fake:
        server = herd_server_factory(_config(fake.url), "herd-routing", ("--agents", str(agents_dir)))
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            yield http, fake


def _respond(http: httpx.Client, model: str, content: Any) -> httpx.Response:
    body = {"model": model, "input": [{"role": "user", "content": content}], "max_output_tokens": 24}
    return http.post("/v1/responses", json={**body, "temperature": 0})


def test_the_server_lists_its_agents_with_their_policies(setup: Any) -> None:
    http, _ = setup
    agents = {a["name"]: a for a in http.get("/v1/herd/agents").json()["data"]}
    assert {"private", "routed", "outward", "assistant", "chart-reader"} <= set(agents)
    assert agents["private"]["policy"] == "local-only"
    assert agents["routed"]["fallbacks"] == [CHAT_MODEL]


def test_local_only_refuses_a_remote_model_and_nothing_leaves(setup: Any) -> None:
    http, fake = setup
    before = len(fake.requests)
    reply = _respond(http, "agent:private", "What is the capital of France?")
    assert reply.status_code == 403, reply.text
    message = reply.json()["error"]["message"]
    assert FAR_MODEL in message and "local-only" in message
    assert len(fake.requests) == before


def test_prefer_local_routes_to_the_local_fallback_and_says_why(setup: Any) -> None:
    http, fake = setup
    before = len(fake.requests)
    reply = _respond(http, "agent:routed", "Say hello.")
    assert reply.status_code == 200, reply.text
    response = reply.json()
    assert response["model"] == CHAT_MODEL
    assert response["metadata"]["herd_agent"] == "routed"
    assert response["metadata"]["herd_route"].startswith(f"prefer-local: '{CHAT_MODEL}' (local")
    assert len(fake.requests) == before


def test_a_remote_model_is_used_when_the_policy_allows_it(setup: Any) -> None:
    http, fake = setup
    before = len(fake.requests)
    reply = _respond(http, "agent:outward", "Say hello.")
    assert reply.status_code == 200, reply.text
    assert "remote" in reply.json()["metadata"]["herd_route"]
    assert len(fake.requests) == before + 1


def test_images_may_not_go_remote_even_for_an_agent_that_allows_it(setup: Any) -> None:
    # The server's rule (images_remote: false) bounds the agent's own (images_remote: true).
    http, fake = setup
    before = len(fake.requests)
    content = [{"type": "input_text", "text": "What is this?"}, {"type": "input_image", "image_url": _red_png()}]
    for model in ("agent:outward", FAR_MODEL):
        reply = _respond(http, model, content)
        assert reply.status_code == 403, reply.text
        assert "images may not leave this machine" in reply.json()["error"]["message"]
    assert len(fake.requests) == before


def test_a_pluggable_vision_stage_reads_the_image_and_shows_its_step(setup: Any) -> None:
    http, fake = setup
    before = len(fake.requests)
    content = [{"type": "input_text", "text": "What colour is it?"}, {"type": "input_image", "image_url": _red_png()}]
    reply = _respond(http, "compose/vision-fake", content)
    assert reply.status_code == 200, reply.text
    response = reply.json()
    reasoning = [i for i in response["output"] if i["type"] == "reasoning"]
    assert reasoning, response["output"]
    step = " ".join(part["text"] for part in reasoning[0]["content"])
    assert "openai:fake-vision" in step and "image 1: 64x32 pixels, mostly red" in step
    assert "a vision model describes the images" in response["metadata"]["herd_vision"]
    sent = fake.requests[before]["body"]
    assert "What colour is it?" in str(sent["messages"])
    assert len(fake.requests) == before + 1


def test_agents_do_not_run_through_chat_completions(setup: Any) -> None:
    http, _ = setup
    body = {"model": "agent:routed", "messages": [{"role": "user", "content": "hi"}]}
    reply = http.post("/v1/chat/completions", json=body)
    assert reply.status_code == 400
    assert "/v1/responses" in reply.json()["error"]["message"]


def test_an_unknown_agent_is_a_clear_404(setup: Any) -> None:
    http, _ = setup
    reply = _respond(http, "agent:nobody", "hi")
    assert reply.status_code == 404
    assert "herd agents list" in reply.json()["error"]["message"]


def test_agent_folders_must_exist(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import HERD

    result = subprocess.run(
        [str(HERD), "run", "--agents", str(tmp_path / "missing"), "--port", "1"], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "missing" in result.stderr


def test_a_video_goes_through_the_vision_stage_as_evenly_sampled_frames(setup: Any, tmp_path: Path) -> None:
    from tests.test_vision_stage import make_video

    http, fake = setup
    video = make_video(tmp_path / "clip.mp4", "mp4v")
    url = "data:video/mp4;base64," + base64.b64encode(video.read_bytes()).decode()
    content = [{"type": "input_text", "text": "What happens in this clip?"}, {"type": "input_image", "image_url": url}]
    before = len(fake.requests)

    reply = _respond(http, "compose/vision-fake", content)

    assert reply.status_code == 200, reply.text
    sent = fake.requests[before]["body"]["messages"]
    frames = [p for m in sent if isinstance(m["content"], list) for p in m["content"] if p["type"] == "image_url"]
    assert len(frames) == 8  # the default; the Llama 3 paper's video adapter used 64
    labels = " ".join(
        p["text"] for m in sent if isinstance(m["content"], list) for p in m["content"] if p["type"] == "text"
    )
    assert "frame 1 at t=" in labels and "frame 8 at t=" in labels
