"""The chromadb provider's pure parts: filters, keyword ranking, fusion, extraction, chunking, citations."""

import pytest

from herd.distribution.citations import citations, cite_response
from herd.errors import InvalidRequest
from herd.providers.chroma import keyword
from herd.providers.chroma.chunking import chunk_document
from herd.providers.chroma.extract import Document, UnreadableFile, extract, html_text
from herd.providers.chroma.filters import to_where
from herd.providers.chroma.index import rrf
from herd.providers.chroma.names import collection_name
from tests.rag_files import make_docx, make_pdf


def test_filters_become_chroma_where_clauses() -> None:
    assert to_where({"type": "eq", "key": "lang", "value": "en"}) == {"lang": {"$eq": "en"}}
    nested = {
        "type": "and",
        "filters": [
            {"type": "gte", "key": "year", "value": 2020},
            {"type": "or", "filters": [{"type": "in", "key": "tag", "value": ["a", "b"]}]},
        ],
    }
    assert to_where(nested) == {"$and": [{"year": {"$gte": 2020}}, {"tag": {"$in": ["a", "b"]}}]}


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "lt", "key": "year", "value": "2020"},
        {"type": "lt", "key": "flag", "value": True},
        {"type": "nin", "key": "tag", "value": ["a", 1]},
        {"type": "eq", "key": "", "value": 1},
        {"type": "eq", "key": "doc", "value": {"a": 1}},
        {"type": "and", "filters": []},
    ],
)
def test_filters_chroma_would_refuse_are_invalid_requests(bad: dict) -> None:
    with pytest.raises(InvalidRequest):
        to_where(bad)


def test_keyword_scores_are_bm25_over_its_bound() -> None:
    docs = ["the cat sat on the mat", "cat cat cat cat cat cat cat cat", "a dog barked", "cat and dog"]
    terms = keyword.query_terms("The cat and the dog")
    assert terms == ["cat", "dog"]
    scores = keyword.bm25_scores(terms, docs, total=10)
    assert all(0 <= s < 1 for s in scores)
    assert scores[3] == max(scores)  # the only chunk with both words
    assert scores[1] > scores[0]  # repeats count, saturating
    assert keyword.bm25_scores([], docs, 10) == [0.0] * 4


def test_candidate_pattern_is_case_insensitive_whole_words() -> None:
    import re

    pattern = keyword.candidate_pattern(["cat", "dog"]).replace("(?i)", "")
    assert re.search(pattern, "A CAT", re.I) and not re.search(pattern, "concatenate", re.I)


def test_rrf_is_one_for_first_in_both_and_ranks_agreement_higher() -> None:
    fused = rrf(["a", "b", "c"], ["a", "c"], 60.0)
    assert fused["a"] == pytest.approx(1.0)
    assert fused["c"] > fused["b"]
    assert all(0 < s <= 1 for s in fused.values())


def test_collection_names_are_valid_for_chroma() -> None:
    assert collection_name("vs_1234-abcd") == "vs_1234-abcd"
    odd = collection_name("my store/with spaces")
    assert odd.startswith("herd-") and len(odd) == 45 and odd == collection_name("my store/with spaces")


def test_extract_reads_each_format() -> None:
    assert extract("a.md", "# Título\n".encode()).text == "# Título\n"
    assert extract("a.txt", "caf\xe9 au lait".encode("latin-1")).text.startswith("caf")
    html = b"<html><head><style>x{}</style></head><body><h1>Head</h1><p>one &amp; two</p><script>no</script></body>"
    assert extract("a.html", html).text == "Head\none & two"
    pdf = extract("a.pdf", make_pdf([["first page"], ["second page"]]))
    assert pdf.page_starts == [0, len("first page\n")] and "second page" in pdf.text
    assert extract("a.docx", make_docx(["one", "two"])).text == "one\ntwo"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("x.pdf", b"%PDF-1.4 broken", "cannot read it as .pdf"),
        ("x.docx", b"not a zip", "cannot read it as .docx"),
        ("x.bin", bytes(range(256)), "unsupported file type '.bin'"),
        ("x.pdf", make_pdf([[""]]), "no extractable text"),
    ],
)
def test_unreadable_files_say_why(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        extract(name, data)


def test_locations_are_lines_or_pages() -> None:
    text = Document("a\nb\nc\nd\n")
    assert text.location(0, 1) == "line 1" and text.location(2, 7) == "lines 2-4"
    pages = Document("p1\np2\np3\n", [0, 3, 6])
    assert pages.location(3, 5) == "page 2" and pages.location(1, 8) == "pages 1-3"


def test_chunks_are_exact_slices_with_overlap_and_locations() -> None:
    text = "".join(f"Line {i}: naïve café ☕ text.\n" for i in range(300))
    document = Document(text)
    chunks = chunk_document("file-1", document, 50, 10, {"filename": "a.txt"})
    assert len(chunks) > 10
    for chunk in chunks:
        assert isinstance(chunk.content, str) and chunk.content in text
        assert chunk.metadata["filename"] == "a.txt" and chunk.metadata["document_id"] == "file-1"
        assert chunk.metadata["location"].startswith("line")
        assert chunk.chunk_metadata.content_token_count <= 50
    windows = [tuple(map(int, c.chunk_metadata.chunk_window.split("-"))) for c in chunks]
    assert all(b[0] == a[0] + 40 for a, b in zip(windows, windows[1:], strict=False))
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    with pytest.raises(ValueError, match="overlap"):
        chunk_document("f", document, 10, 10, {})


def test_citations_name_the_files_an_answer_draws_on() -> None:
    results = [
        {"file_id": "f1", "filename": "tea.txt", "text": "The Hatter and the March Hare were having tea."},
        {"file_id": "f2", "filename": "pool.md", "text": "Alice swam in a pool of tears."},
    ]
    cited = citations("The Hatter and the March Hare had tea together.", results)
    assert cited == [{"type": "file_citation", "file_id": "f1", "filename": "tea.txt", "index": 47}]
    assert citations("Nothing related at all here.", results) == []


def test_cite_response_keeps_the_models_own_annotations_and_names_results() -> None:
    own = [{"type": "file_citation", "file_id": "f2", "filename": "pool.md", "index": 3}]
    response = {
        "output": [
            {
                "type": "file_search_call",
                "results": [
                    {
                        "file_id": "f1",
                        "filename": "f1",
                        "text": "tears pool swim",
                        "attributes": {"filename": "pool.md"},
                    }
                ],
            },
            {
                "type": "message",
                "content": [{"type": "output_text", "text": "pool of tears, swim", "annotations": own}],
            },
            {
                "type": "message",
                "content": [{"type": "output_text", "text": "swim in a pool of tears", "annotations": []}],
            },
        ]
    }
    cite_response(response)
    assert response["output"][0]["results"][0]["filename"] == "pool.md"
    assert response["output"][1]["content"][0]["annotations"] == own
    assert response["output"][2]["content"][0]["annotations"][0]["filename"] == "pool.md"


def test_html_text_keeps_blocks_apart() -> None:
    assert html_text("<p>a</p><p>b<br>c</p>") == "a\nb\nc"


def test_the_tokenizer_cache_is_seeded_and_a_damaged_copy_replaced(tmp_path, monkeypatch) -> None:
    import hashlib

    from herd.distribution import server

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(server, "_SEEDED", set())
    server.seed_tiktoken_cache()
    (cached,) = tmp_path.iterdir()
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == server._CL100K_SHA256
    cached.write_bytes(b"cut short")
    monkeypatch.setattr(server, "_SEEDED", set())  # as a new process finds it
    server.seed_tiktoken_cache()
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == server._CL100K_SHA256
    assert [p.name for p in tmp_path.iterdir()] == [cached.name]  # no partial copy left behind


def test_start_up_checks_the_offline_tokenizer_without_parsing_it(tmp_path, monkeypatch) -> None:
    from herd.distribution import server
    from herd.errors import ConfigError
    from herd.providers.chroma.impl import _offline_encoding_ready

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(server, "_SEEDED", set())
    _offline_encoding_ready()
    assert len(list((tmp_path / "cache").iterdir())) == 1
    with pytest.raises(ConfigError, match="cl100k_base"):
        _offline_encoding_ready("o200k_base")
