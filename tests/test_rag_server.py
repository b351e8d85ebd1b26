"""Vector stores through the real server: Herd's chromadb provider with the real MiniLM embedder.

Every test talks HTTP to ``herd run`` (the tiny chat model's distribution) through the
official ``openai`` SDK or plain httpx, and owns its store.
"""

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.rag_files import CORPUS, attach, make_docx, make_pdf, qa_pairs

ALICE = ["alice_ch01_down_the_rabbit_hole.txt", "alice_ch02_the_pool_of_tears.md", "alice_ch06_pig_and_pepper.html"]
LOCATION = re.compile(r"^(lines? \d+(-\d+)?|pages? \d+(-\d+)?)$")


def _store(oa: Any) -> Any:
    return oa.vector_stores.create(name=f"test-{uuid.uuid4().hex[:8]}")


def _search(oa: Any, store: str, query: str, **kwargs: Any) -> list[Any]:
    return list(oa.vector_stores.search(vector_store_id=store, query=query, **kwargs).data)


@pytest.fixture(scope="module")
def mixed_store(oa_client: Any) -> tuple[str, dict[str, Any]]:
    """Three corpus files (.txt, .md, .html), a two-page PDF and a .docx, each with attributes."""
    store = _store(oa_client).id
    files = {}
    for year, name in enumerate(ALICE, start=2001):
        files[name] = attach(oa_client, store, name, (CORPUS / name).read_bytes(), {"book": "alice", "year": year})
    tides = [f"Tide table entry {i}: high water at {i % 12 + 1} o'clock, a calm sea." for i in range(40)]
    pdf = make_pdf([["Harbour notes.", *tides], ["The lighthouse keeper logs every passing ship at dawn."]])
    files["harbour.pdf"] = attach(oa_client, store, "harbour.pdf", pdf, {"book": "harbour", "year": 2010})
    docx = make_docx(["Orchard ledger.", "Forty barrels of cider apples were pressed in October."])
    files["orchard.docx"] = attach(oa_client, store, "orchard.docx", docx, {"book": "orchard", "year": 2020})
    return store, files


def test_every_format_is_read_and_completed(mixed_store: tuple[str, dict[str, Any]], oa_client: Any) -> None:
    store, files = mixed_store
    assert {name: f.status for name, f in files.items()} == dict.fromkeys(files, "completed")
    listed = oa_client.vector_stores.files.list(vector_store_id=store)
    assert sorted(f.id for f in listed.data) == sorted(f.id for f in files.values())
    assert oa_client.vector_stores.retrieve(store).file_counts.completed == 5


def test_a_search_that_names_no_mode_is_hybrid(mixed_store: tuple[str, dict[str, Any]], oa_client: Any) -> None:
    store, _ = mixed_store
    plain = _search(oa_client, store, "the lighthouse keeper")
    hybrid = _search(oa_client, store, "the lighthouse keeper", extra_body={"search_mode": "hybrid"})
    assert [(r.content[0].text, r.score) for r in plain] == [(r.content[0].text, r.score) for r in hybrid]


def test_search_finds_the_answering_file_with_its_location_and_a_0_1_score(
    mixed_store: tuple[str, dict[str, Any]], oa_client: Any
) -> None:
    store, _ = mixed_store
    questions = [q for q in qa_pairs() if q["file"] in ALICE]
    hits = 0
    for q in questions:
        results = _search(oa_client, store, q["question"], max_num_results=5)
        assert all(0.0 <= r.score <= 1.0 for r in results)
        assert all(LOCATION.match(r.attributes["location"]) for r in results), [r.attributes for r in results]
        assert all(r.filename == r.attributes["filename"] for r in results)
        hits += any(q["answer"] in " ".join(r.content[0].text.split()) for r in results)
    assert hits / len(questions) >= 0.6, f"{hits} of {len(questions)} answers in the top 5"
    (pdf_hit,) = _search(oa_client, store, "who watches the passing ships at dawn?", max_num_results=1)
    assert pdf_hit.filename == "harbour.pdf" and "lighthouse keeper" in pdf_hit.content[0].text
    assert pdf_hit.attributes["location"] in ("page 2", "pages 1-2")
    tide = _search(oa_client, store, "Tide table entry 3: high water", max_num_results=1)[0]
    assert (tide.filename, tide.attributes["location"]) == ("harbour.pdf", "page 1")
    (docx_hit,) = _search(oa_client, store, "how many barrels of cider", max_num_results=1)
    assert docx_hit.filename == "orchard.docx"
    assert "Forty barrels" in docx_hit.content[0].text


def test_keyword_search_ranks_chunks_holding_the_words(mixed_store: tuple[str, dict[str, Any]], oa_client: Any) -> None:
    store, _ = mixed_store
    results = _search(oa_client, store, "Duchess baby pepper", extra_body={"search_mode": "keyword"})
    assert results and all(0.0 < r.score < 1.0 for r in results)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    for r in results:
        assert re.search(r"(?i)\b(duchess|baby|pepper)\b", r.content[0].text)
    assert results[0].filename == "alice_ch06_pig_and_pepper.html"
    assert _search(oa_client, store, "the of and", extra_body={"search_mode": "keyword"}) == []


def test_hybrid_search_fuses_both_rankings(mixed_store: tuple[str, dict[str, Any]], oa_client: Any) -> None:
    store, _ = mixed_store
    query = "lighthouse keeper"
    hybrid = _search(oa_client, store, query, extra_body={"search_mode": "hybrid"})
    assert hybrid[0].filename == "harbour.pdf"
    assert all(0.0 <= r.score <= 1.0 for r in hybrid)
    vector = {
        r.content[0].text: r.score for r in _search(oa_client, store, query, extra_body={"search_mode": "vector"})
    }
    words = {
        r.content[0].text: r.score for r in _search(oa_client, store, query, extra_body={"search_mode": "keyword"})
    }
    top = hybrid[0].content[0].text  # the run config's default fusion: half vector, half keyword
    assert hybrid[0].score == pytest.approx(0.5 * vector[top] + 0.5 * words[top], abs=1e-4)
    rrf = _search(oa_client, store, query, extra_body={"search_mode": "hybrid"}, ranking_options={"ranker": "rrf"})
    assert rrf[0].score == pytest.approx(1.0)  # first in both rankings
    keyword_only = _search(
        oa_client,
        store,
        query,
        extra_body={"search_mode": "hybrid"},
        ranking_options={"ranker": "weighted", "alpha": 0},
    )
    plain_keyword = _search(oa_client, store, query, extra_body={"search_mode": "keyword"})
    assert [r.content[0].text for r in keyword_only[: len(plain_keyword)]] == [r.content[0].text for r in plain_keyword]


def test_metadata_filters_run_inside_the_store(mixed_store: tuple[str, dict[str, Any]], oa_client: Any) -> None:
    store, _ = mixed_store

    def names(filters: dict[str, Any]) -> set[str]:
        return {r.filename for r in _search(oa_client, store, "a story", filters=filters, max_num_results=50)}

    assert names({"type": "eq", "key": "book", "value": "harbour"}) == {"harbour.pdf"}
    assert names({"type": "gte", "key": "year", "value": 2010}) == {"harbour.pdf", "orchard.docx"}
    assert names({"type": "in", "key": "book", "value": ["orchard", "harbour"]}) == {"harbour.pdf", "orchard.docx"}
    both = {
        "type": "and",
        "filters": [{"type": "eq", "key": "book", "value": "alice"}, {"type": "lt", "key": "year", "value": 2002}],
    }
    assert names(both) == {ALICE[0]}
    either = {
        "type": "or",
        "filters": [{"type": "eq", "key": "year", "value": 2003}, {"type": "eq", "key": "book", "value": "orchard"}],
    }
    assert names(either) == {ALICE[2], "orchard.docx"}
    keyword = _search(
        oa_client,
        store,
        "barrels",
        filters={"type": "ne", "key": "book", "value": "orchard"},
        extra_body={"search_mode": "keyword"},
    )
    assert keyword == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"type": "gt", "key": "book", "value": "a"}, "compares numbers"),
        ({"type": "in", "key": "year", "value": []}, "non-empty list"),
        ({"type": "eq", "key": "_chunk", "value": "x"}, "Herd's own"),
        ({"type": "near", "key": "year", "value": 1}, "unknown filter type 'near'"),
    ],
)
def test_a_bad_filter_is_a_400_that_says_what_to_fix(
    mixed_store: tuple[str, dict[str, Any]], http: httpx.Client, filters: dict[str, Any], message: str
) -> None:
    store, _ = mixed_store
    reply = http.post(f"/v1/vector_stores/{store}/search", json={"query": "x", "filters": filters})
    assert reply.status_code == 400, reply.text
    assert message in reply.json()["error"]["message"]


def test_unknown_store_and_mode_are_client_errors(mixed_store: tuple[str, dict[str, Any]], http: httpx.Client) -> None:
    store, _ = mixed_store
    missing = http.post("/v1/vector_stores/vs_nope/search", json={"query": "x"})
    # llama-stack's routing table answers an unknown store id with 400 and names it.
    assert missing.status_code in (400, 404) and "vs_nope" in missing.json()["error"]["message"]
    mode = http.post(f"/v1/vector_stores/{store}/search", json={"query": "x", "search_mode": "fuzzy"})
    assert mode.status_code == 400 and "search_mode" in mode.text


def test_a_file_that_cannot_be_read_fails_with_its_reason_kept(oa_client: Any) -> None:
    store = _store(oa_client).id
    broken = attach(oa_client, store, "broken.pdf", b"%PDF-1.4 not really")
    binary = attach(oa_client, store, "blob.bin", bytes(range(256)) * 4)
    good = attach(oa_client, store, "fine.txt", b"A fine text about a quiet harbour.")
    assert (broken.status, binary.status, good.status) == ("failed", "failed", "completed")
    assert "broken.pdf: cannot read it as .pdf" in broken.last_error.message
    assert "unsupported file type '.bin'" in binary.last_error.message
    kept = oa_client.vector_stores.files.retrieve(vector_store_id=store, file_id=broken.id)
    assert kept.status == "failed" and kept.last_error.message == broken.last_error.message
    assert {r.filename for r in _search(oa_client, store, "harbour")} == {"fine.txt"}
    assert oa_client.vector_stores.retrieve(store).file_counts.failed == 2


def test_replacing_a_file_removes_every_old_chunk(oa_client: Any) -> None:
    store = _store(oa_client).id
    filler = " ".join(f"Line {i} of the keeper's log notes calm water and light wind." for i in range(80))
    old = attach(oa_client, store, "log.txt", f"{filler} The zeppelin moored at pier nine. {filler}".encode())
    assert any(
        "zeppelin" in r.content[0].text
        for r in _search(oa_client, store, "zeppelin", extra_body={"search_mode": "keyword"})
    )
    old_chunks = oa_client.vector_stores.files.content(vector_store_id=store, file_id=old.id).data
    assert len(old_chunks) > 3
    new = attach(oa_client, store, "log.txt", f"{filler} The schooner moored at pier nine. {filler}".encode())
    oa_client.vector_stores.files.delete(vector_store_id=store, file_id=old.id)
    assert _search(oa_client, store, "zeppelin", extra_body={"search_mode": "keyword"}) == []
    vector = _search(oa_client, store, "an airship moored at the pier", max_num_results=50)
    assert vector and {r.file_id for r in vector} == {new.id}
    assert not any("zeppelin" in r.content[0].text for r in vector)
    assert [f.id for f in oa_client.vector_stores.files.list(vector_store_id=store).data] == [new.id]


def test_deleting_a_store_drops_its_chunks(oa_client: Any, http: httpx.Client) -> None:
    store = _store(oa_client).id
    attach(oa_client, store, "note.txt", b"The granary key hangs by the mill door.")
    assert _search(oa_client, store, "granary key")
    assert oa_client.vector_stores.delete(store).deleted
    assert http.post(f"/v1/vector_stores/{store}/search", json={"query": "granary"}).status_code in (400, 404)
    assert store not in {s.id for s in oa_client.vector_stores.list().data}


def test_file_contents_come_from_the_store_with_embeddings_on_request(
    mixed_store: tuple[str, dict[str, Any]], http: httpx.Client
) -> None:
    store, files = mixed_store
    path = f"/v1/vector_stores/{store}/files/{files['orchard.docx'].id}/content"
    (plain,) = http.get(path).json()["data"]
    assert "Forty barrels" in plain["text"] and plain.get("embedding") is None
    (full,) = http.get(path, params={"include_embeddings": "true", "include_metadata": "true"}).json()["data"]
    assert len(full["embedding"]) == 384 and full["metadata"]["filename"] == "orchard.docx"
