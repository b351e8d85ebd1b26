"""API keys, owners and per-key limits: the parts alone, then through a real server.

The server runs the tiny model with two keys given in clear (alice, bob); keys with limits
are made with ``herd keys create`` in the server's ``HERD_HOME`` while it runs, which
also shows that it reads the key file again. One owner never sees another's
conversations, responses, files or vector stores, and asking for one by id answers 404.
"""

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from herd.distribution import runconfig, templates
from herd.distribution.access import Access, TokenUsage
from herd.distribution.keys import AuthSettings, KeyFile, KeyLimits, KeyRing, from_strings
from herd.distribution.metering import MeteredSend, ask_for_usage
from herd.distribution.request_limits import RequestLimits, check
from herd.errors import ConfigError, InvalidRequest, RateLimited, TooLarge, Unauthorized
from tests.conftest import CHAT_MODEL, run_main

ALICE, BOB = "alice-secret-1", "bob-secret-22"
PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a") + b"\0" * 64).decode()


# --- the parts ---------------------------------------------------------------------------------


def ring(tmp_path: Path, *given: str, **limits: int) -> KeyRing:
    return KeyRing(AuthSettings(**limits), from_strings(list(given)), KeyFile(tmp_path / "keys.yaml"))


def access(tmp_path: Path, *given: str, **limits: int) -> Access:
    return Access(ring(tmp_path, *given, **limits), TokenUsage(tmp_path / "usage.db"), "secret")


def test_keys_given_in_clear_are_named_and_checked(tmp_path: Path) -> None:
    [named, anonymous] = from_strings([f"alice={ALICE}", BOB])
    assert named.name == "alice" and anonymous.name.startswith("key-")
    with pytest.raises(ConfigError, match="at least 8 characters"):
        from_strings(["short"])
    with pytest.raises(ConfigError, match="letters, digits"):
        from_strings([f"no spaces={ALICE}"])
    gate = access(tmp_path, f"alice={ALICE}")
    assert gate.authenticate(f"Bearer {ALICE}") == "alice"
    for header, why in [
        (None, "needs an API key"),
        ("Basic abc", "must be `Bearer KEY`"),
        ("Bearer not-a-key-at-all", "not known"),
    ]:
        with pytest.raises(Unauthorized, match=why):
            gate.authenticate(header)


def test_the_key_file_keeps_hashes_and_revocations_apply_at_once(tmp_path: Path) -> None:
    file = KeyFile(tmp_path / "keys.yaml")
    secret = file.create("carol", KeyLimits(requests_per_minute=5))
    assert secret.startswith("herd-") and secret not in file.path.read_text()
    assert file.path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="exists; revoke it first"):
        file.create("carol", KeyLimits())
    gate = access(tmp_path)
    assert gate.enabled and gate.authenticate(f"Bearer {secret}") == "carol"
    assert file.revoke("carol") == 1
    with pytest.raises(Unauthorized, match="named 'carol'.*was revoked on"):
        gate.authenticate(f"Bearer {secret}")
    with pytest.raises(ConfigError, match="no live key named 'carol'"):
        file.revoke("carol")
    file.path.write_text("- {name: broken\n")  # a half-written edit: the keys read before still hold
    with pytest.raises(Unauthorized, match="revoked"):
        gate.authenticate(f"Bearer {secret}")


def test_request_rate_open_streams_and_daily_tokens(tmp_path: Path) -> None:
    gate = access(tmp_path, f"alice={ALICE}", f"bob={BOB}", requests_per_minute=2, max_streams=1, tokens_per_day=100)
    gate.authenticate(f"Bearer {ALICE}")
    gate.authenticate(f"Bearer {ALICE}")
    with pytest.raises(RateLimited, match="2 requests a minute") as refused:
        gate.authenticate(f"Bearer {ALICE}")
    assert 55 <= refused.value.retry_after <= 60
    assert gate.authenticate(f"Bearer {BOB}") == "bob"  # the window is per key
    release = gate.open_stream("alice")
    with pytest.raises(RateLimited, match="1 streams open"):
        gate.open_stream("alice")
    release()
    gate.open_stream("alice")()
    gate.usage.add("alice", 60)
    gate.check_tokens("alice")
    gate.usage.add("alice", 40)
    with pytest.raises(RateLimited, match="used 100 of its 100 tokens") as spent:
        gate.check_tokens("alice")
    assert 0 < spent.value.retry_after <= 86400
    gate.check_tokens("bob")
    assert TokenUsage(tmp_path / "usage.db").used("alice") == 100  # kept across restarts


def test_internal_tokens_carry_their_owner_and_cannot_be_forged(tmp_path: Path) -> None:
    gate = access(tmp_path, f"alice={ALICE}")
    token = gate.internal_token("alice")
    assert gate.authenticate(f"Bearer {token}") == "alice"
    forged = token.replace("alice", "bob", 1)
    with pytest.raises(Unauthorized, match="server-issued token is not valid"):
        gate.authenticate(f"Bearer {forged}")
    other = Access(gate.ring, gate.usage, "another-process")
    with pytest.raises(Unauthorized):
        other.authenticate(f"Bearer {token}")


def test_usage_is_asked_for_and_the_extra_chunk_dropped(tmp_path: Path) -> None:
    body, asked = ask_for_usage("/v1/chat/completions", {"stream": True})
    assert body["stream_options"] == {"include_usage": True} and not asked
    assert ask_for_usage("/v1/chat/completions", {"stream": True, "stream_options": {"include_usage": True}})[1]
    assert ask_for_usage("/v1/responses", {"stream": True}) == ({"stream": True}, True)
    usage = TokenUsage(tmp_path / "usage.db")
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    chunks = [
        {"object": "chat.completion.chunk", "choices": [{"delta": {"content": "hi"}}], "usage": None},
        {"object": "chat.completion.chunk", "choices": [], "usage": {"total_tokens": 12}},
    ]
    stream = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    metered = MeteredSend(send, usage, "alice", keep_usage_chunk=False)

    async def run() -> None:
        await metered(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
        )
        await metered({"type": "http.response.body", "body": stream, "more_body": False})

    asyncio.run(run())
    out = b"".join(m.get("body", b"") for m in sent)
    assert b'"total_tokens"' not in out and b'"hi"' in out and out.endswith(b"data: [DONE]\n\n")
    assert usage.used("alice") == 12


def test_image_count_size_and_max_tokens_limits() -> None:
    limits = RequestLimits(max_images=1, max_image_bytes=1024, max_tokens=64)
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    check({"messages": [{"role": "user", "content": [image]}], "max_tokens": 64}, limits)
    with pytest.raises(TooLarge, match="carries 2 images; .* at most 1"):
        check({"messages": [{"role": "user", "content": [image, image]}]}, limits)
    big = {"type": "input_image", "image_url": "data:image/png;base64," + "A" * 4000}
    with pytest.raises(TooLarge, match="image 1 is .* MiB; the limit is"):
        check({"input": [{"role": "user", "content": [big]}]}, limits)
    with pytest.raises(InvalidRequest, match="max_output_tokens is 65; this server allows at most 64"):
        check({"input": "hi", "max_output_tokens": 65}, limits)


def test_the_run_config_sections_are_checked(tmp_path: Path) -> None:
    config = templates.embedded(chat_model="smollm2-135m-instruct")
    config["herd"]["auth"] = {"requests_per_minute": 0}
    with pytest.raises(ConfigError, match="herd.auth.requests_per_minute"):
        runconfig.validate(config)
    config["herd"]["auth"] = {}
    config["herd"]["limits"] = {"max_imagez": 3}
    with pytest.raises(ConfigError, match="herd.limits.max_imagez"):
        runconfig.validate(config)


def test_binding_beyond_loopback_without_a_key_warns(monkeypatch, capsys, tmp_path: Path) -> None:
    from herd.distribution import server

    monkeypatch.setenv("HERD_HOME", str(tmp_path))
    monkeypatch.delenv("HERD_API_KEYS", raising=False)
    served: list[tuple[Any, ...]] = []
    monkeypatch.setattr(server, "serve", lambda *args: served.append(args))
    code, _out, err = run_main(monkeypatch, capsys, "run", "--host", "0.0.0.0")
    assert code == 0 and "WARNING  Listening on 0.0.0.0 with NO API KEY" in err
    code, _out, err = run_main(monkeypatch, capsys, "run", "--host", "0.0.0.0", "--api-key", f"ops={ALICE}")
    assert code == 0 and "NO API KEY" not in err and served[-1][4] == [f"ops={ALICE}"]
    code, _out, err = run_main(monkeypatch, capsys, "run", "--api-key", "tiny")
    assert code == 1 and "at least 8 characters" in err


# --- through the server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(herd_server_factory: Any) -> Any:
    config = templates.embedded(chat_model="smollm2-135m-instruct")
    config["herd"]["shields"] = {"input": [], "tool_results": []}  # short follow-ups trip the offline shield
    config["herd"]["limits"] = {"max_images": 1, "max_tokens": 512}
    return herd_server_factory(config, "herd-auth", ("--api-key", f"bob={BOB}"), api_key=f"alice={ALICE}")


@pytest.fixture(scope="module")
def url(server: Any) -> str:
    return str(server.base_url)


def as_(key: str | None, url: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url, headers=headers, timeout=120)


def chat(max_tokens: int = 8, prompt: str = "Say hi.", **extra: Any) -> dict[str, Any]:
    return {"model": CHAT_MODEL, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens, **extra}


def test_every_route_but_health_needs_a_key(url: str) -> None:
    with as_(None, url) as anyone:
        assert anyone.get("/v1/health").status_code == 200
        for path in ("/v1/models", "/v1/herd/status", "/v1/herd/conversations", "/v1/files", "/v1/herd/mcp/herd::code"):
            reply = anyone.get(path)
            assert reply.status_code == 401, path
            assert reply.headers["www-authenticate"].startswith("Bearer")
            assert "needs an API key" in reply.json()["error"]["message"]
        assert anyone.post("/v1/chat/completions", json=chat()).status_code == 401
    with as_("wrong-key-123456", url) as stranger:
        assert "not known" in stranger.get("/v1/models").json()["error"]["message"]


def test_one_owner_cannot_see_anothers_things(url: str, tmp_path: Path) -> None:
    with as_(ALICE, url) as alice, as_(BOB, url) as bob:
        conversation = alice.post("/v1/conversations", json={"items": [_said("my locker is 42")]}).json()["id"]
        file = alice.post("/v1/files", files={"file": ("notes.txt", b"the launch code is 4417")},
                          data={"purpose": "assistants"}).json()["id"]  # fmt: skip
        store = alice.post("/v1/vector_stores", json={"name": "alice-notes", "file_ids": [file]}).json()["id"]
        response = alice.post("/v1/responses", json={"model": CHAT_MODEL, "input": "Say hi.", "max_output_tokens": 16})
        assert response.status_code == 200, response.text
        answer = response.json()["id"]
        mine = [
            f"/v1/conversations/{conversation}",
            f"/v1/conversations/{conversation}/items",
            f"/v1/files/{file}",
            f"/v1/files/{file}/content",
            f"/v1/vector_stores/{store}",
            f"/v1/vector_stores/{store}/files",
            f"/v1/responses/{answer}",
            f"/v1/responses/{answer}/input_items",
        ]
        for path in mine:
            assert alice.get(path).status_code == 200, path
            reply = bob.get(path)
            assert reply.status_code == 404, (path, reply.status_code, reply.text)
        search = bob.post(f"/v1/vector_stores/{store}/search", json={"query": "launch code"})
        assert search.status_code == 404
        follow = bob.post("/v1/responses", json={"model": CHAT_MODEL, "input": "And?", "previous_response_id": answer})
        assert follow.status_code == 404, follow.text
        for listing in ("/v1/files", "/v1/vector_stores", "/v1/responses", "/v1/herd/conversations"):
            ids = {entry["id"] for entry in bob.get(listing).json()["data"]}
            assert not ids & {conversation, file, store, answer}, listing
        assert conversation in {c["id"] for c in alice.get("/v1/herd/conversations").json()["data"]}
        assert bob.delete(f"/v1/files/{file}").status_code == 404
        assert alice.get(f"/v1/files/{file}/content").content == b"the launch code is 4417"


def test_keys_from_the_key_file_with_limits_and_revocation(server: Any, url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HERD_HOME", str(server.home))
    code, carol, _err = run_main(monkeypatch, capsys, "keys", "create", "carol", "--requests-per-minute", "3")
    assert code == 0
    with as_(carol.strip(), url) as client:
        assert [client.get("/v1/models").status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/v1/models")
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        assert "3 requests a minute" in refused.json()["error"]["message"]
        code, _out, _err = run_main(monkeypatch, capsys, "keys", "revoke", "carol")
        assert code == 0
        revoked = client.get("/v1/models")
        assert revoked.status_code == 401 and "was revoked" in revoked.json()["error"]["message"]
    code, listing, _err = run_main(monkeypatch, capsys, "keys", "list")
    assert "carol" in listing and "revoked" in listing


def test_a_daily_token_quota_counts_what_replies_report(server: Any, url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HERD_HOME", str(server.home))
    _code, dave, _err = run_main(monkeypatch, capsys, "keys", "create", "dave", "--tokens-per-day", "40")
    with as_(dave.strip(), url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat(16, stream=True)) as stream:
            events = [line[6:] for line in stream.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        assert all(json.loads(e).get("usage") is None for e in events[:-1])  # not asked for: not sent
        _code, listing, _err = run_main(monkeypatch, capsys, "keys", "list")
        used = int(next(line for line in listing.splitlines() if line.startswith("dave")).split()[-1])
        assert used > 16  # prompt and completion
        if used < 40:
            reply = client.post("/v1/chat/completions", json=chat(32))
            assert reply.status_code == 200
        refused = client.post("/v1/chat/completions", json=chat())
        assert refused.status_code == 429 and "tokens for today" in refused.json()["error"]["message"]
        assert int(refused.headers["retry-after"]) <= 86400
        assert client.get("/v1/models").status_code == 200  # a quota on tokens, not on reading


def test_open_streams_per_key(server: Any, url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HERD_HOME", str(server.home))
    _code, erin, _err = run_main(monkeypatch, capsys, "keys", "create", "erin", "--max-streams", "1")
    with as_(erin.strip(), url) as client:
        long = chat(400, "Write a very long story about the sea.", stream=True, temperature=0)
        with client.stream("POST", "/v1/chat/completions", json=long) as first:
            assert first.status_code == 200
            lines = first.iter_lines()
            opened = next(lines)
            second = client.post("/v1/chat/completions", json=chat(4, stream=True))
            if second.status_code != 429:
                rest = [opened, *lines]
                pytest.fail(f"second stream answered {second.status_code} while the first was open; the first "
                            f"had {len(rest)} lines, ending {rest[-2:]}")  # fmt: skip
            assert "1 streams open" in second.json()["error"]["message"]
            assert client.post("/v1/chat/completions", json=chat(4)).status_code == 200  # not a stream
        deadline = time.monotonic() + 10
        while (status := client.post("/v1/chat/completions", json=chat(4, stream=True)).status_code) == 429:
            assert time.monotonic() < deadline, "the closed stream's place was not given back"
            time.sleep(0.2)
        assert status == 200


def test_request_limits_answer_4xx(url: str) -> None:
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    two = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": [image, image]}]}
    with as_(ALICE, url) as alice:
        reply = alice.post("/v1/chat/completions", json=two)
        assert reply.status_code == 413 and "at most 1" in reply.json()["error"]["message"]
        reply = alice.post("/v1/chat/completions", json=chat(513))
        assert reply.status_code == 400 and "allows at most 512" in reply.json()["error"]["message"]


def test_the_sdks_and_the_cli_send_the_key(url: str, monkeypatch, capsys) -> None:
    import openai
    from llama_stack_client import LlamaStackClient

    models = LlamaStackClient(base_url=url, api_key=ALICE, max_retries=0).models.list()
    assert CHAT_MODEL in {m.id for m in models}
    reply = openai.OpenAI(base_url=url + "/v1", api_key=BOB, max_retries=0).chat.completions.create(**chat())
    assert reply.choices[0].message.content
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="nope-nope-nope", max_retries=0).models.list()
    monkeypatch.setenv("HERD_API_KEY", "")  # recorded, so that what --api-key exports is undone after the test
    code, _out, err = run_main(monkeypatch, capsys, "stores", "list", "--url", url)
    assert code == 1 and "needs an API key" in err
    code, out, _err = run_main(monkeypatch, capsys, "stores", "list", "--url", url, "--api-key", ALICE)
    assert code == 0, out
    monkeypatch.setenv("HERD_API_KEY", ALICE)
    code, out, _err = run_main(monkeypatch, capsys, "agents", "list", "--url", url)
    assert code == 0 and "analyst" in out


def test_the_chat_client_sends_the_key(url: str) -> None:
    from herd.apps.chat.client import LlamaStackChatClient
    from herd.apps.chat.seam import ChatError

    async def run() -> None:
        assert await LlamaStackChatClient(url, api_key=ALICE).ping()
        with pytest.raises(ChatError, match="needs an API key") as refused:
            await LlamaStackChatClient(url, api_key=None).ping()
        assert refused.value.kind == "refused"

    asyncio.run(run())


def _said(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": text}


def test_own_mcp_tools_run_on_the_callers_behalf(herd_server_factory: Any, tmp_path_factory, monkeypatch) -> None:
    """The code tool reaches the server's own MCP route with a token the server made for the caller."""
    from tests.office_mcp import running_office_mcp
    from tests.test_ollama_distribution import fake_ollama
    from tests.test_tools_server import CODE_TOOL, MODEL, called, items, tools_config

    with fake_ollama(tmp_path_factory) as (ollama, _process), running_office_mcp() as office:
        monkeypatch.setenv("OLLAMA_URL", ollama)
        server = herd_server_factory(tools_config(office.url), "herd-auth-tools", api_key=f"alice={ALICE}")
        try:
            with as_(ALICE, server.base_url) as alice:
                prompt = called(ollama, "python", {"code": "print(6 * 7)"}, "It is 42.")
                reply = alice.post("/v1/responses", json={"model": MODEL, "input": prompt, "tools": [CODE_TOOL]})
                assert reply.status_code == 200, reply.text
                [run] = items(reply.json(), "code_interpreter_call")
                assert run["outputs"] == [{"type": "logs", "logs": "42\n"}]
                stored = alice.get(f"/v1/responses/{reply.json()['id']}").text
                assert "herd-internal" not in stored and "herd-internal" not in reply.text
        finally:
            server.stop()
