"""Vector stores that outlive the server: a restart on the embedded chromadb, and a Chroma server (``chroma run``)."""

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from herd.distribution import templates
from tests.conftest import TINY_MODEL, free_port, start_server, stop_process_group
from tests.rag_files import CORPUS, attach

FILES = ["alice_ch07_a_mad_tea_party.txt", "as_you_like_it_act2.html"]
QUERY = "the March Hare and the Hatter having tea"


def _client(server: Any) -> Any:
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", timeout=120, max_retries=0)


def _ranked(oa: Any, store: str, query: str = QUERY) -> list[tuple[str, str, float]]:
    data = oa.vector_stores.search(vector_store_id=store, query=query, max_num_results=5).data
    return [(r.file_id, r.content[0].text, round(r.score, 5)) for r in data]


def _chroma_counts(path: Path) -> dict[str, int]:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    return {c.name: client.get_collection(c.name).count() for c in client.list_collections()}


def test_stores_files_and_search_survive_a_restart(herd_server_factory: Any, tmp_path: Path) -> None:
    config = templates.embedded(chat_model=TINY_MODEL)
    first = herd_server_factory(config, "herd-restart")
    oa = _client(first)
    store = oa.vector_stores.create(name="kept").id
    ids = [attach(oa, store, name, (CORPUS / name).read_bytes()).id for name in FILES]
    chunks = {i: len(oa.vector_stores.files.content(vector_store_id=store, file_id=i).data) for i in ids}
    before = _ranked(oa, store)
    first.stop()

    again = start_server(config, first.home, tmp_path / "again")
    try:
        oa = _client(again)
        assert [s.name for s in oa.vector_stores.list().data if s.id == store] == ["kept"]
        assert _ranked(oa, store) == before
        keyword = oa.vector_stores.search(vector_store_id=store, query="Hatter", extra_body={"search_mode": "keyword"})
        assert keyword.data
        assert {i: len(oa.vector_stores.files.content(vector_store_id=store, file_id=i).data) for i in ids} == chunks
        assert oa.vector_stores.files.delete(vector_store_id=store, file_id=ids[0]).deleted
        assert {r[0] for r in _ranked(oa, store)} == {ids[1]}
    finally:
        again.stop()
    assert _chroma_counts(first.home / "embedded" / "chroma") == {store: chunks[ids[1]]}

    last = start_server(config, first.home, tmp_path / "last")
    try:
        assert _client(last).vector_stores.delete(store).deleted
    finally:
        last.stop()
    assert _chroma_counts(first.home / "embedded" / "chroma") == {}


# -- a Chroma server ---------------------------------------------------------------


def _start_chroma(path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    chroma = Path(sys.executable).with_name("chroma")
    command = [str(chroma if chroma.exists() else shutil.which("chroma")), "run", "--path", str(path)]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chroma run exited with {process.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                return process
        time.sleep(0.2)
    _stop(process)
    pytest.fail(f"chroma run did not answer within 60 s: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    stop_process_group(process, timeout=15)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    port = free_port()
    process = _start_chroma(tmp_path / "chroma-data", port, tmp_path / "chroma.log")
    yield f"http://127.0.0.1:{port}", tmp_path, port
    _stop(process)


def test_a_chroma_server_holds_the_stores(
    herd_server_factory: Any, chroma_server: tuple[str, Path, int], tmp_path: Path
) -> None:
    import chromadb
    from chromadb.config import Settings

    url, _, port = chroma_server
    config = templates.embedded(chat_model=TINY_MODEL, chroma_url=url, distro="chroma")
    assert config["providers"]["vector_io"][0]["config"]["url"] == url
    server = herd_server_factory(config, "herd-chroma")
    oa = _client(server)
    store = oa.vector_stores.create(name="remote").id
    ids = [attach(oa, store, name, (CORPUS / name).read_bytes()).id for name in FILES]
    counts = [len(oa.vector_stores.files.content(vector_store_id=store, file_id=i).data) for i in ids]
    ranked = _ranked(oa, store)
    assert ranked and ranked[0][0] == ids[0]
    remote = chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False))
    assert remote.get_collection(store).count() == sum(counts)

    server.stop()
    again = start_server(config, server.home, tmp_path / "again")
    try:
        oa = _client(again)
        assert _ranked(oa, store) == ranked
        assert oa.vector_stores.files.delete(vector_store_id=store, file_id=ids[1]).deleted
        assert remote.get_collection(store).count() == counts[0]
        assert oa.vector_stores.delete(store).deleted
        assert store not in {c.name for c in remote.list_collections()}
    finally:
        again.stop()


def test_a_chroma_server_that_goes_away_is_a_503_with_a_reason(herd_server_factory: Any, tmp_path: Path) -> None:
    port = free_port()
    chroma = _start_chroma(tmp_path / "data", port, tmp_path / "chroma.log")
    try:
        config = templates.embedded(chat_model=TINY_MODEL, chroma_url=f"http://127.0.0.1:{port}", distro="chroma")
        server = herd_server_factory(config, "herd-chroma-gone")
        oa = _client(server)
        store = oa.vector_stores.create(name="fragile").id
        attach(oa, store, FILES[0], (CORPUS / FILES[0]).read_bytes())
        before = _ranked(oa, store)
        _stop(chroma)
        reply = httpx.post(f"{server.base_url}/v1/vector_stores/{store}/search", json={"query": QUERY}, timeout=60)
        assert reply.status_code == 503, reply.text
        assert f"127.0.0.1:{port}" in reply.json()["error"]["message"]
        chroma = _start_chroma(tmp_path / "data", port, tmp_path / "chroma.log")
        assert _ranked(oa, store) == before
    finally:
        _stop(chroma)


def _chromadb_loaded(server: Any) -> bool:
    """Whether the server process has chromadb's native bindings mapped (chromadb imported)."""
    return "chromadb_rust_bindings" in Path(f"/proc/{server.process.pid}/maps").read_text()


def test_the_embedded_chromadb_opens_when_a_store_first_needs_it(herd_server_factory: Any, tmp_path: Path) -> None:
    config = templates.embedded(chat_model=TINY_MODEL)
    server = herd_server_factory(config, "herd-lazy-chroma")
    folder = server.home / "embedded" / "chroma"
    assert folder.is_dir() and not any(folder.iterdir())  # made at start-up, not opened
    assert not _chromadb_loaded(server)
    oa = _client(server)
    assert oa.vector_stores.list().data == []  # listing reads the records, not chromadb
    store = oa.vector_stores.create(name="first").id
    assert _chromadb_loaded(server) and (folder / "chroma.sqlite3").exists()
    attach(oa, store, FILES[0], (CORPUS / FILES[0]).read_bytes())
    assert _ranked(oa, store)
    server.stop()

    again = start_server(config, server.home, tmp_path / "again")
    try:
        assert _chromadb_loaded(again)  # a kept store is opened at start-up
        assert _ranked(_client(again), store)
    finally:
        again.stop()
