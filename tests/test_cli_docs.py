"""`herd docs` and `herd stores` through the real entry point: walking paths, syncing by hash, search, removal."""

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from herd.apps.docs.walk import expand
from herd.errors import InvalidRequest
from tests.conftest import HerdServer, free_port, run_main

CORPUS = Path(__file__).parent / "data" / "rag" / "corpus"
TEA_PARTY = "alice_ch07_a_mad_tea_party.txt"
Cli = Callable[..., tuple[int, str, str]]  # herd ARGS... against the tiny server → (code, stdout, stderr)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_server: HerdServer) -> Cli:
    def run(*args: str) -> tuple[int, str, str]:
        return run_main(monkeypatch, capsys, *args, "--url", tiny_server.base_url)

    return run


@pytest.fixture
def store(tiny_server: HerdServer) -> Iterator[str]:
    """A store name no other test uses (the server is shared by the session); the store goes afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    with httpx.Client(base_url=tiny_server.base_url + "/v1", timeout=60) as http:
        for found in http.get("/vector_stores", params={"limit": 100}).json()["data"]:
            if found["name"] == name:
                http.delete(f"/vector_stores/{found['id']}")


def summary_line(out: str) -> str:
    return out.strip().splitlines()[-1]


# -- walk.py, without a server -------------------------------------------------------


def test_walk_obeys_gitignore_at_root_and_nested(tmp_path: Path) -> None:
    for name in ("a.md", "b.txt", "debug.log", "build/out.md", "sub/c.md", "sub/secret.md", "sub/deep/d.rst"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("text")
    (tmp_path / ".gitignore").write_text("*.log\nbuild/\n")
    (tmp_path / "sub" / ".gitignore").write_text("secret.md\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("git's own")
    (tmp_path / ".hidden.md").write_text("hidden")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG")
    found = expand([str(tmp_path)])
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == ["a.md", "b.txt", "sub/c.md", "sub/deep/d.rst"]
    assert [(p.name, why.split(";")[0]) for p, why in found.ignored] == [
        ("picture.png", "unsupported file type '.png'")
    ]


def test_walk_nested_gitignore_can_reinclude(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".gitignore").write_text("*.md\n")
    (tmp_path / "sub" / ".gitignore").write_text("!keep.md\n")
    for name in ("top.md", "sub/keep.md", "sub/other.md"):
        (tmp_path / name).write_text("text")
    assert [p.name for p in expand([str(tmp_path)]).files] == ["keep.md"]


def test_walk_globs_files_and_errors(tmp_path: Path) -> None:
    for name in ("docs/a.md", "docs/x/b.md", "docs/x/c.txt", "docs/.hidden/e.md", "notes.weird"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("text")
    found = expand([f"{tmp_path}/docs/**/*.md", str(tmp_path / "docs" / "a.md")])
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == ["docs/a.md", "docs/x/b.md"]
    assert expand([str(tmp_path / "notes.weird")]).files == [tmp_path / "notes.weird"]  # named files go as they are
    with pytest.raises(InvalidRequest, match="no such file or folder"):
        expand([str(tmp_path / "missing.md")])
    with pytest.raises(InvalidRequest, match="matches no file"):
        expand([f"{tmp_path}/docs/**/*.pdf"])


def test_walk_reads_file_urls_and_refuses_remote_ones(tmp_path: Path) -> None:
    (tmp_path / "my notes").mkdir()
    (tmp_path / "my notes" / "a b.md").write_text("text")
    assert expand([(tmp_path / "my notes" / "a b.md").as_uri()]).files == [tmp_path / "my notes" / "a b.md"]
    assert expand([(tmp_path / "my notes").as_uri()]).files == [tmp_path / "my notes" / "a b.md"]
    with pytest.raises(InvalidRequest, match="download it first"):
        expand(["https://example.org/a.md"])
    with pytest.raises(InvalidRequest, match="local file"):
        expand(["file://otherhost/a.md"])


# -- help and no server ---------------------------------------------------------------

COMMANDS = [("docs",), ("docs", "add"), ("docs", "search"), ("docs", "list"), ("docs", "stats"), ("docs", "rm")]
COMMANDS += [("stores",), ("stores", "list"), ("stores", "create"), ("stores", "rm")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]) -> None:
    code, out, _ = run_main(monkeypatch, capsys, *command, "--help")
    assert code == 0
    assert "Usage:" in out


def test_the_commands_import_their_clients_only_when_run() -> None:
    code = "import sys, herd.cli.main; print(sorted({m.split('.')[0] for m in sys.modules} & {'httpx', 'pathspec'}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_no_server_is_a_config_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    commands = (("docs", "list", "--store", "x"), ("stores", "list"), ("docs", "add", str(CORPUS), "--store", "x"))
    for args in (*commands, ("shields", "list"), ("shields", "check", "hello")):
        code, _, err = run_main(monkeypatch, capsys, *args, "--url", url)
        assert code == 1
        assert err.startswith(f"herd: error: no Herd server answers at {url}")
        assert "start one with `herd run` or fix --url" in err


# -- through the tiny server --------------------------------------------------------------


def test_add_skips_unchanged_and_replaces_changed(
    cli: Cli, store: str, tmp_path: Path, tiny_server: HerdServer
) -> None:
    corpus = Path(shutil.copytree(CORPUS, tmp_path / "corpus"))
    code, out, err = cli("docs", "add", str(corpus), "--store", store)
    assert code == 0, out + err
    assert summary_line(out).startswith("15 added, 0 updated, 0 skipped, 0 failed;")
    assert f"created vector store {store}" in err
    code, out, _ = cli("docs", "add", str(corpus), "--store", store)
    assert summary_line(out).startswith("0 added, 0 updated, 15 skipped, 0 failed; 0 chunks")

    assert "little bat" in chunks_found(tiny_server.base_url, store, "Twinkle twinkle little bat")
    tea = corpus / TEA_PARTY
    tea.write_text(tea.read_text().replace("little bat", "velvet wombat"))
    code, out, _ = cli("docs", "add", str(corpus), "--store", store)
    assert summary_line(out).startswith("0 added, 1 updated, 14 skipped, 0 failed;")
    assert f"updated  {tea}" in out
    assert "little bat" not in chunks_found(tiny_server.base_url, store, "Twinkle twinkle little bat")
    assert "velvet wombat" in chunks_found(tiny_server.base_url, store, "velvet wombat")
    code, out, _ = cli("docs", "list", "--store", store)
    assert out.count(TEA_PARTY) == 1


def chunks_found(base_url: str, store: str, query: str) -> str:
    """The text of every chunk a keyword search finds (the CLI shows snippets only)."""
    with httpx.Client(base_url=base_url + "/v1", timeout=60) as http:
        store_id = next(
            s["id"] for s in http.get("/vector_stores", params={"limit": 100}).json()["data"] if s["name"] == store
        )
        body = {"query": query, "max_num_results": 50, "search_mode": "keyword"}
        hits = http.post(f"/vector_stores/{store_id}/search", json=body).json()["data"]
    return "\n".join(part["text"] for hit in hits for part in hit["content"])


def test_search_list_stats_rm(cli: Cli, store: str) -> None:
    assert cli("docs", "add", str(CORPUS), "--store", store)[0] == 0
    code, out, _ = cli("docs", "search", "a mad tea party with the March Hare", "--store", store, "-k", "3")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("1. alice_") and " lines " in lines[0]
    assert lines[2].startswith("2. ") and lines[4].startswith("3. ")
    scores = [float(line.rsplit(" ", 1)[1]) for line in lines[0::2]]
    assert scores == sorted(scores, reverse=True) and all(len(line.rsplit(" ", 1)[1]) == 5 for line in lines[0::2])
    assert lines[1].startswith("   ") and len(lines[1]) > 20

    code, out, _ = cli("docs", "list", "--store", store)
    rows = out.splitlines()[1:]
    assert len(rows) == 15 and all(" completed " in row for row in rows)
    chunks = sum(int(row.split()[2]) for row in rows)
    code, out, _ = cli("docs", "stats", "--store", store)
    assert "15 completed, 0 failed" in out
    assert f"chunks     {chunks}" in out
    assert f"bytes      {sum(p.stat().st_size for p in CORPUS.iterdir())}" in out

    file_id = rows[0].split()[-1]
    code, out, _ = cli("docs", "rm", str(CORPUS / TEA_PARTY), file_id, "--store", store)
    assert code == 0 and out.count("removed  ") == 2
    code, out, _ = cli("docs", "list", "--store", store)
    assert len(out.splitlines()) == 1 + 13 and TEA_PARTY not in out and file_id not in out
    code, _, err = cli("docs", "rm", "file-nope", "--store", store)
    assert code == 1 and "file-nope is not in" in err


def test_stores_create_list_rm(cli: Cli, store: str) -> None:
    code, out, _ = cli("stores", "create", store)
    assert code == 0 and out.startswith(f"created vector store {store} (vs_")
    code, _, err = cli("stores", "create", store)
    assert code == 1 and "exists already" in err
    code, out, _ = cli("stores", "list")
    assert any(line.split()[:2] == [store, "0"] for line in out.splitlines())
    code, out, _ = cli("stores", "rm", store, "--yes")
    assert code == 0 and out.startswith(f"removed vector store {store}")
    code, out, _ = cli("stores", "list")
    assert store not in out
    for args in (("stores", "rm", store, "--yes"), ("docs", "search", "x", "--store", store)):
        code, _, err = cli(*args)
        assert code == 1
        assert f"no vector store named {store!r}" in err and f"`herd stores create {store}`" in err


def test_failures_are_reported_and_the_rest_added(cli: Cli, store: str, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("alice_ch01_down_the_rabbit_hole.txt", "alice_ch02_the_pool_of_tears.md"):
        shutil.copy(CORPUS / name, folder / name)
    (folder / "x.pdf").write_bytes(os.urandom(4096))
    (folder / "data.bin").write_bytes(b"\x00\x01binary")
    (folder / "ignored.md").write_text("ignored by git")
    (folder / ".gitignore").write_text("ignored.md\n")
    for attempt in range(2):  # a failed file is not remembered: the second run tries it again
        code, out, _ = cli("docs", "add", str(folder), "--store", store)
        assert code == 1
        assert summary_line(out).startswith(
            f"{2 if attempt == 0 else 0} added, 0 updated, {1 + 2 * attempt} skipped, 1 failed"
        )
        assert f"failed   {folder / 'x.pdf'}: x.pdf: cannot read it as .pdf" in out
        assert f"skipped  {folder / 'data.bin'}: unsupported file type '.bin'" in out
    code, out, _ = cli("docs", "list", "--store", store)
    assert sorted(line.split()[0] for line in out.splitlines()[1:]) == sorted(
        str(folder / n) for n in ("alice_ch01_down_the_rabbit_hole.txt", "alice_ch02_the_pool_of_tears.md")
    )
    assert "0 failed" in cli("docs", "stats", "--store", store)[1]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_fails_alone(cli: Cli, store: str, tmp_path: Path) -> None:
    good, locked = tmp_path / "good.txt", tmp_path / "locked.txt"
    good.write_text("Readable text about herds of llamas.")
    locked.write_text("secret")
    locked.chmod(0)
    code, out, _ = cli("docs", "add", str(tmp_path), "--store", store)
    assert code == 1
    assert f"failed   {locked}: cannot read it (Permission denied)" in out
    assert summary_line(out).startswith("1 added, 0 updated, 0 skipped, 1 failed")


def test_a_file_that_vanished_fails_alone(cli: Cli, store: str, tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Readable text about herds of llamas.")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    code, out, _ = cli("docs", "add", str(tmp_path), "--store", store)
    assert code == 1
    assert f"failed   {tmp_path / 'gone.txt'}: cannot read it (No such file or directory)" in out
    assert summary_line(out).startswith("1 added, 0 updated, 0 skipped, 1 failed")


def test_leftover_records_of_a_path_are_cleaned_up(
    cli: Cli, store: str, tmp_path: Path, tiny_server: HerdServer
) -> None:
    """An interrupted replace leaves two records for one path: the run keeps the current one and deletes the other."""
    path = tmp_path / "note.md"
    path.write_text("The current version of the note.")
    assert cli("docs", "add", str(path), "--store", store)[0] == 0
    with httpx.Client(base_url=tiny_server.base_url + "/v1", timeout=120) as http:
        store_id = next(
            s["id"] for s in http.get("/vector_stores", params={"limit": 100}).json()["data"] if s["name"] == store
        )
        upload = http.post("/files", files={"file": ("note.md", b"An older version.")}, data={"purpose": "assistants"})
        stale = {"file_id": upload.json()["id"], "attributes": {"path": str(path), "sha256": "0" * 64}}
        assert http.post(f"/vector_stores/{store_id}/files", json=stale).json()["status"] == "completed"
        assert len(http.get(f"/vector_stores/{store_id}/files").json()["data"]) == 2
        code, out, _ = cli("docs", "add", str(path), "--store", store)
        assert summary_line(out).startswith("0 added, 0 updated, 1 skipped")
        records = http.get(f"/vector_stores/{store_id}/files").json()["data"]
        assert len(records) == 1 and records[0]["attributes"]["sha256"] != "0" * 64
        assert http.get(f"/files/{stale['file_id']}").status_code == 404, "the stale record's upload goes too"
