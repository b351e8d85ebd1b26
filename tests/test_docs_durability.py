"""`herd docs add` killed mid-ingest, client and server: a re-run completes with exactly the chunks it should.

60 files (the RAG corpus four times over, under new names) go into two stores of one
server. Store A's ingest is killed with SIGKILL once 5 files are committed, then re-run;
store B's ingest runs until 5 files are committed, then the server's process group is
killed and a new server opens the same HERD_HOME. Every local file must then be in its
store exactly once, completed, with the number of chunks computed here from the same
extractor and chunker at the window its record states, and chromadb must hold those
chunks and no others.
"""

import collections
import functools
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from herd.distribution import templates
from tests.conftest import HERD, TINY_MODEL, HerdServer, start_server

CORPUS = Path(__file__).parent / "data" / "rag" / "corpus"
COPIES = 4
KILL_AFTER = 5  # committed files


def big_corpus(folder: Path) -> Path:
    for copy in range(COPIES):
        for source in sorted(CORPUS.iterdir()):
            (folder / f"copy{copy}").mkdir(parents=True, exist_ok=True)
            shutil.copy(source, folder / f"copy{copy}" / f"{copy}_{source.name}")
    return folder


@functools.cache
def chunk_count(path: str, window: int, overlap: int) -> int:
    """Chunks of a file as the server makes them: the same extractor and chunker, with the file's window."""
    from herd.providers.chroma.chunking import chunk_document
    from herd.providers.chroma.extract import extract

    return len(chunk_document("file-x", extract(Path(path).name, Path(path).read_bytes()), window, overlap, {}))


def start_add(folder: Path, store: str, url: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(HERD), "docs", "add", str(folder), "--store", store, "--url", url], stdout=out, stderr=out
        )


def run_add(folder: Path, store: str, url: str) -> str:
    result = subprocess.run(
        [str(HERD), "docs", "add", str(folder), "--store", store, "--url", url],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def store_files(url: str, store: str) -> tuple[str, list[dict[str, Any]]] | None:
    with httpx.Client(base_url=url + "/v1", timeout=60) as http:
        stores = [s for s in http.get("/vector_stores", params={"limit": 100}).json()["data"] if s["name"] == store]
        if not stores:
            return None
        store_id = stores[0]["id"]
        files, after = [], None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
            page = http.get(f"/vector_stores/{store_id}/files", params=params).json()
            files += page["data"]
            if not page["has_more"]:
                return store_id, files
            after = page["data"][-1]["id"]


def wait_until_committed(url: str, store: str, count: int, cli: subprocess.Popen[bytes]) -> int:
    """Poll until the store lists ``count`` files; fails if the ingest ended first."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        found = store_files(url, store)
        listed = len(found[1]) if found else 0
        if listed >= count:
            return listed
        assert cli.poll() is None, f"the ingest ended (status {cli.returncode}) with only {listed} files committed"
        time.sleep(0.2)
    raise AssertionError(f"{store} had fewer than {count} files after 600 s")


def check_store(url: str, store: str, local: list[str]) -> tuple[str, dict[str, int]]:
    """Every local file listed once and completed, each with its exact chunk count; returns file id -> chunks."""
    found = store_files(url, store)
    assert found is not None
    store_id, files = found
    paths = collections.Counter(f["attributes"]["path"] for f in files)
    assert paths == collections.Counter(local), "each local file must be in the store exactly once"
    assert {f["status"] for f in files} == {"completed"}
    expected = {f["id"]: chunk_count(f["attributes"]["path"], *window(f)) for f in files}
    with httpx.Client(base_url=url + "/v1", timeout=60) as http:
        counts = {
            f["id"]: len(http.get(f"/vector_stores/{store_id}/files/{f['id']}/content").json()["data"]) for f in files
        }
    assert counts == expected
    return store_id, expected


def window(record: dict[str, Any]) -> tuple[int, int]:
    """The chunk window the server states it used for a file (the provider's default for `auto`)."""
    static = record["chunking_strategy"]["static"]
    return static["max_chunk_size_tokens"], static["chunk_overlap_tokens"]


def check_chroma(home: Path, store_id: str, expected: dict[str, int]) -> None:
    """chromadb holds exactly the expected chunks, each under a file id the store lists."""
    import chromadb
    from chromadb.config import Settings

    from herd.providers.chroma.names import collection_name

    client = chromadb.PersistentClient(
        path=str(home / "embedded" / "chroma"), settings=Settings(anonymized_telemetry=False)
    )
    collection = client.get_collection(collection_name(store_id))
    assert collection.count() == sum(expected.values())
    metadatas = collection.get(include=["metadatas"])["metadatas"] or []
    per_file = collections.Counter(str(m["document_id"]) for m in metadatas)
    assert set(per_file) <= set(expected), "chunks of a file id the store does not list"
    assert per_file == expected


@pytest.mark.timeout(1800)
def test_ingest_survives_kills_of_client_and_server(
    herd_server_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from herd.distribution.server import seed_tiktoken_cache

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))  # chunk_count's tokenizer, offline
    seed_tiktoken_cache()
    config = templates.embedded(chat_model=TINY_MODEL)
    server: HerdServer = herd_server_factory(config, "herd-docs-durable")
    folder = big_corpus(tmp_path / "corpus")
    local = [str(path) for path in sorted(folder.rglob("*.*"))]
    assert len(local) == COPIES * 15
    started = time.monotonic()

    cli = start_add(folder, "durable-a", server.base_url, tmp_path / "a.log")
    listed = wait_until_committed(server.base_url, "durable-a", KILL_AFTER, cli)
    cli.kill()
    assert cli.wait() == -signal.SIGKILL, "the ingest must still be running at the kill"
    assert listed < len(local)
    added = int(run_add(folder, "durable-a", server.base_url).split(" added")[0])
    # The server may still commit the attach the kill interrupted, so the re-run adds it or not.
    assert len(local) - listed - 1 <= added <= len(local) - listed
    check_store(server.base_url, "durable-a", local)
    client_kill = time.monotonic() - started

    cli = start_add(folder, "durable-b", server.base_url, tmp_path / "b.log")
    wait_until_committed(server.base_url, "durable-b", KILL_AFTER, cli)
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    assert cli.wait(timeout=120) == 1, "the ingest must have been running when the server died"
    assert "no Herd server answers" in (tmp_path / "b.log").read_text()
    restarted = start_server(config, server.home, tmp_path / "restarted")
    try:
        run_add(folder, "durable-b", restarted.base_url)
        for name in ("durable-a", "durable-b"):
            assert run_add(folder, name, restarted.base_url).startswith(f"0 added, 0 updated, {len(local)} skipped")
        stores = [check_store(restarted.base_url, name, local) for name in ("durable-a", "durable-b")]
        uploads = httpx.get(restarted.base_url + "/v1/files", params={"limit": 10000}, timeout=60).json()["data"]
    finally:
        restarted.stop()
    for store_id, expected in stores:
        check_chroma(server.home, store_id, expected)
    # Not asserted, reported: what the kills left outside the stores, and whether the restart had to roll back.
    orphans = {u["id"] for u in uploads} - {file_id for _, expected in stores for file_id in expected}
    rolled_back = "rolling back the unfinished attach" in restarted.log_path.read_text()
    print(
        f"\n{len(local)} files, {sum(stores[0][1].values())} chunks per store; client kill and re-run "
        f"{client_kill:.0f} s, all {time.monotonic() - started:.0f} s; restart rolled back an attach: {rolled_back}; "
        f"uploads in no store: {len(orphans)}"
    )
