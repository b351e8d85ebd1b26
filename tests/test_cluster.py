"""The `cluster` distribution scaled out on this machine.

A real PostgreSQL (Debian's, started here on a free port in a temp folder), a real
``chroma run`` server, the tiny embedded server standing in for vLLM (it speaks the same
OpenAI-compatible HTTP), and two ``herd run cluster`` replicas, A and B, that share
nothing but those servers and one files folder. What one replica writes the other
serves, and a ``kill -9`` of A loses nothing.
"""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from herd.distribution import runconfig, templates

from .conftest import HerdServer, free_port, make_home, start_server, stop_process_group
from .rag_files import CORPUS
from .test_rag_restart import _start_chroma, _stop

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
MODEL = "vllm/herd/smollm2-135m-instruct"  # the stand-in's model, behind the `vllm` provider
DOC = "alice_ch01_down_the_rabbit_hole.txt"

# -- the template ------------------------------------------------------------------------


def test_cluster_has_one_vllm_provider_per_url_and_every_store_on_postgres() -> None:
    config = templates.cluster("http://gpu-1:8000/v1, http://gpu-2:8000/v1")
    runconfig.validate(config)
    inference = config["providers"]["inference"]
    assert [(p["provider_id"], p["provider_type"]) for p in inference[:2]] == [
        ("vllm", "remote::vllm"),
        ("vllm-2", "remote::vllm"),
    ]
    assert inference[1]["config"]["base_url"] == "http://gpu-2:8000/v1"
    assert inference[2]["config"]["models"] == ["all-minilm-l6-v2"]  # embeddings stay in-process
    backends = config["storage"]["backends"]
    assert {b["type"] for b in backends.values()} == {"kv_postgres", "sql_postgres"}
    used = {s["backend"] for s in config["storage"]["stores"].values()}
    used |= {config["providers"]["files"][0]["config"]["metadata_store"]["backend"]}
    used |= {r["backend"] for r in config["providers"]["responses"][0]["config"]["persistence"].values()}
    used |= {config["providers"]["vector_io"][0]["config"]["persistence"]["backend"]}
    assert used <= set(backends)
    chroma = config["providers"]["vector_io"][0]["config"]
    assert chroma["shared"] is True and chroma["url"].startswith("${env.CHROMA_URL")
    assert config["providers"]["files"][0]["config"]["storage_dir"].startswith("${env.HERD_FILES_DIR:=")


def test_cluster_without_urls_says_what_to_set() -> None:
    from herd.errors import ConfigError

    with pytest.raises(ConfigError, match="VLLM_URLS"):
        templates.cluster(" , ")


# -- the servers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A PostgreSQL server with a ``herd`` database; trust auth on 127.0.0.1 only."""
    import psycopg2

    if not PG_BINS:  # these machines have it (Debian's postgresql); a missing one must not pass quietly
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql", pytrace=False)
    bin_dir = Path(PG_BINS[-1])
    # Not under pytest's temp folder: initdb refuses to run as root, and root's 0700 temp
    # folders are closed to the unprivileged user it runs as instead.
    root = Path(tempfile.mkdtemp(prefix="herd-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    data, port = root / "data", free_port()
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "herd", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
    )
    log = root / "postgres.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*as_user, str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root)]
            + ["-c", "listen_addresses=127.0.0.1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _create_database(psycopg2, port, process, log)
        yield {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(port), "POSTGRES_DB": "herd", "POSTGRES_USER": "herd"}
    finally:
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stop_process_group(process, timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _create_database(psycopg2: Any, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"postgres exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=port, user="herd", dbname="postgres")
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                pytest.fail(f"postgres did not accept connections within 30 s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("CREATE DATABASE herd")
    conn.close()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("cluster-chroma")
    port = free_port()
    process = _start_chroma(root / "data", port, root / "chroma.log")
    yield f"http://127.0.0.1:{port}"
    _stop(process)


@pytest.fixture(scope="module")
def cluster_env(
    postgres: dict[str, str], chroma_url: str, tiny_server: HerdServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """What every replica is started with: the tiny embedded server stands in for vLLM."""
    files = tmp_path_factory.mktemp("cluster-files")  # the shared volume
    return {
        **postgres,
        "VLLM_URLS": f"{tiny_server.base_url}/v1",
        "CHROMA_URL": chroma_url,
        "HERD_FILES_DIR": str(files),
    }


class Replicas:
    """``herd run cluster`` replicas, each with its own HERD_HOME; all stopped at the end."""

    def __init__(self, root: Path, models_dir: Path, env: dict[str, str]) -> None:
        self.root, self.models_dir, self.env = root, models_dir, env
        self.running: list[HerdServer] = []

    def start(self, name: str) -> HerdServer:
        home = self.root / name / "home"
        if not home.exists():
            make_home(home, self.models_dir)
        run = self.root / name / f"run-{len(self.running)}"
        server = start_server("cluster", home, run, env=self.env)
        self.running.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.running:
            server.stop()


@pytest.fixture
def replicas(tmp_path: Path, models_dir: Path, cluster_env: dict[str, str]) -> Iterator[Replicas]:
    group = Replicas(tmp_path, models_dir, cluster_env)
    try:
        yield group
    finally:
        group.stop_all()


# -- the scale-out ---------------------------------------------------------------------


def test_two_replicas_share_conversations_responses_files_and_stores_and_a_kill_loses_nothing(
    replicas: Replicas,
) -> None:
    a, b = replicas.start("a"), replicas.start("b")
    http_a, http_b = _client(a), _client(b)

    for http in (http_a, http_b):
        ids = [m["id"] for m in _ok(http.get("/v1/models"))["data"]]
        assert MODEL in ids, ids

    # A conversation started on A goes on on B, and A reads what B added.
    first = {"type": "message", "role": "user", "content": "My name is Ada."}
    conversation = _ok(http_a.post("/v1/conversations", json={"items": [first]}))["id"]
    assert _texts(http_b, conversation) == ["My name is Ada."]
    added = {"type": "message", "role": "user", "content": "I keep bees."}
    _ok(http_b.post(f"/v1/conversations/{conversation}/items", json={"items": [added]}))
    turn = _ok(http_b.post("/v1/responses", json=_ask("Say hi.", conversation=conversation)))
    assert turn["status"] in ("completed", "incomplete"), turn  # incomplete: cut at max_output_tokens
    texts = _texts(http_a, conversation)
    assert texts[:3] == ["My name is Ada.", "I keep bees.", "Say hi."] and len(texts) == 4, texts

    # A response made on A is the previous response of one made on B.
    one = _ok(http_a.post("/v1/responses", json=_ask("Remember the word lighthouse.")))
    two = _ok(http_b.post("/v1/responses", json=_ask("Which word?", previous_response_id=one["id"])))
    assert two["status"] in ("completed", "incomplete"), two
    # llama-stack leaves `previous_response_id` null on the reply; the input B sent holds A's turn.
    inputs = _ok(http_a.get(f"/v1/responses/{two['id']}/input_items"))["data"]
    assert "Remember the word lighthouse." in str(inputs) and one["output"][0]["content"][0]["text"] in str(inputs)

    # A file uploaded and attached through A is read and searched through B.
    body = (CORPUS / DOC).read_bytes()
    file_id = _ok(http_a.post("/v1/files", files={"file": (DOC, body)}, data={"purpose": "assistants"}))["id"]
    store = _ok(http_a.post("/v1/vector_stores", json={"name": "handbook"}))["id"]
    attached = _ok(http_a.post(f"/v1/vector_stores/{store}/files", json={"file_id": file_id}))
    assert attached["status"] == "completed", attached
    assert _ok(http_b.get(f"/v1/vector_stores/{store}"))["file_counts"]["completed"] == 1
    assert http_b.get(f"/v1/files/{file_id}/content").content == body
    _assert_search_finds_the_jar(http_b, store, file_id)

    # kill -9 A: B still serves all of it, and A, started again, does too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(a.process.pid, signal.SIGKILL)
    a.process.wait(10)
    a_again = replicas.start("a")
    for http in (http_b, _client(a_again)):
        assert len(_texts(http, conversation)) == 4
        assert _ok(http.get(f"/v1/responses/{one['id']}"))["output"] == one["output"]
        assert http.get(f"/v1/files/{file_id}/content").content == body
        _assert_search_finds_the_jar(http, store, file_id)
        assert [s["id"] for s in _ok(http.get("/v1/vector_stores"))["data"]] == [store]


def _client(server: HerdServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=120)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def _ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "input": text, "max_output_tokens": 16, "temperature": 0, **extra}


def _texts(http: httpx.Client, conversation: str) -> list[str]:
    items = _ok(http.get(f"/v1/conversations/{conversation}/items", params={"order": "asc"}))["data"]
    texts = []
    for item in items:
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.append("".join(part.get("text", "") for part in content))
    return texts


def _assert_search_finds_the_jar(http: httpx.Client, store: str, file_id: str) -> None:
    query = {"query": "What was written on the jar Alice took from a shelf as she fell?", "max_num_results": 3}
    hits = _ok(http.post(f"/v1/vector_stores/{store}/search", json=query))["data"]
    assert hits and hits[0]["file_id"] == file_id, hits
    assert any("ORANGE MARMALADE" in "".join(c["text"] for c in hit["content"]) for hit in hits), hits


def test_a_postgres_password_that_would_break_the_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from herd.errors import ConfigError

    monkeypatch.setenv("POSTGRES_PASSWORD", "p@ss/word")
    with pytest.raises(ConfigError, match=r"password holds / @, .*unescaped"):
        runconfig.validate(templates.cluster())


def test_herd_build_cluster_writes_a_config_that_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from .conftest import run_main

    monkeypatch.setenv("VLLM_URLS", "http://gpu-1:8000/v1,http://gpu-2:8000/v1")
    code, out, err = run_main(monkeypatch, capsys, "build", "cluster", "--out", str(tmp_path))
    assert code == 0, err
    data = runconfig.load(tmp_path / "run.yaml")
    assert [p.provider_id for p in runconfig.validate(data).providers["inference"]] == ["vllm", "vllm-2", "herd"]
    requirements = (tmp_path / "requirements.txt").read_text().splitlines()
    assert {"asyncpg", "psycopg2-binary", "chromadb==1.3.5"} <= set(requirements)
