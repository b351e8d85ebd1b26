"""``herd.apps.docs.ingest.sync`` against the in-memory fake of the server's API: the decisions per file."""

import hashlib
from pathlib import Path

from herd.apps.docs.client import StoreClient
from herd.apps.docs.ingest import Progress, sync
from tests.fake_stores import FakeStores


def setup(tmp_path: Path, refuse: set[str] | None = None) -> tuple[FakeStores, StoreClient, str]:
    fake = FakeStores(refuse)
    client = StoreClient("http://fake", transport=fake.transport)
    return fake, client, client.create_store("s")["id"]


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def test_failed_and_refused_files_are_undone_and_the_rest_added(tmp_path: Path) -> None:
    fake, client, store_id = setup(tmp_path, refuse={"refused.txt"})
    files = [tmp_path / n for n in ("a.txt", "x.bad", "refused.txt", "b.txt")]
    for path in files:
        write(path, "one\ntwo\n")
    progress: list[Progress] = []
    summary = sync(client, store_id, files, progress.append)
    assert summary.added == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    assert summary.failed == [
        (str(tmp_path / "x.bad"), "x.bad: corrupt"),
        (
            str(tmp_path / "refused.txt"),
            "the server refused POST /v1/vector_stores/vs_0/files (500): cannot attach refused.txt",
        ),
    ]
    assert summary.chunks == 4
    assert sorted(fake.records[store_id]) == sorted(fake.uploads), "nothing left of the failures, in store or files"
    assert [p.files_done for p in progress] == [0, 1, 2, 3, 4] and progress[-1].chunks == 4


def test_a_failed_record_with_the_same_hash_is_tried_again(tmp_path: Path) -> None:
    fake, client, store_id = setup(tmp_path)
    path = tmp_path / "a.txt"
    old = fake.add_record(store_id, str(path), write(path, "text\n"), status="failed")
    summary = sync(client, store_id, [path])
    assert summary.updated == [str(path)]
    assert [r["status"] for r in fake.records[store_id].values()] == ["completed"]
    assert old not in fake.uploads


def test_leftovers_of_an_interrupted_replace_go_and_the_current_record_stays(tmp_path: Path) -> None:
    fake, client, store_id = setup(tmp_path)
    path = tmp_path / "a.txt"
    digest = write(path, "text\n")
    stale = fake.add_record(store_id, str(path), "0" * 64)
    current = fake.add_record(store_id, str(path), digest)
    duplicate = fake.add_record(store_id, str(path), digest)
    summary = sync(client, store_id, [path])
    assert summary.skipped == [(str(path), "unchanged")] and summary.chunks == 0
    assert list(fake.records[store_id]) == [current]
    assert stale not in fake.uploads and duplicate not in fake.uploads
    assert not any(r.startswith("POST /files") for r in fake.requests), "an unchanged file is not uploaded"


def test_unreadable_file_fails_without_a_request(tmp_path: Path) -> None:
    fake, client, store_id = setup(tmp_path)
    summary = sync(client, store_id, [tmp_path / "missing.txt"])
    assert summary.failed == [(str(tmp_path / "missing.txt"), "cannot read it (No such file or directory)")]
    assert fake.uploads == {}
