"""Answers with citations: the default model asks file_search through the Responses API and cites the file."""

from pathlib import Path
from typing import Any

import openai
import pytest

from herd.distribution import templates
from tests.rag_files import CORPUS, attach

pytestmark = pytest.mark.slow
MODEL = "herd/qwen2.5-coder-1.5b-instruct"
FILES = ["alice_ch01_down_the_rabbit_hole.txt", "alice_ch06_pig_and_pepper.html", "alice_ch07_a_mad_tea_party.txt"]


@pytest.fixture(scope="module")
def oa(default_model_weights: Path, herd_server_factory: Any) -> Any:
    server = herd_server_factory(templates.embedded(), "herd-rag-answers")
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", timeout=600, max_retries=0)


@pytest.fixture(scope="module")
def store(oa: Any) -> str:
    store = oa.vector_stores.create(name="alice").id
    for name in FILES:
        assert attach(oa, store, name, (CORPUS / name).read_bytes()).status == "completed"
    return store


def _ask(oa: Any, store: str, question: str, stream: bool) -> Any:
    request = {
        "model": MODEL,
        "input": question,
        "tools": [{"type": "file_search", "vector_store_ids": [store], "max_num_results": 4}],
        "include": ["file_search_call.results"],
        "temperature": 0,
    }
    if not stream:
        return oa.responses.create(**request)
    done = [e.response for e in oa.responses.create(**request, stream=True) if e.type == "response.completed"]
    assert len(done) == 1
    return done[0]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_file_search_answer_cites_the_file_it_came_from(oa: Any, store: str, stream: bool) -> None:
    response = _ask(oa, store, "Who was the Duchess nursing in her kitchen?", stream)
    searches = [item for item in response.output if item.type == "file_search_call"]
    assert searches and searches[0].results, response.output
    for result in searches[0].results:
        assert result.filename in FILES and result.filename == result.attributes["filename"]
        assert result.attributes["location"].startswith("line") and 0 <= result.score <= 1
    (message,) = [item for item in response.output if item.type == "message"]
    text = message.content[0]
    assert "baby" in text.text.lower(), text.text
    cited = {a.filename for a in text.annotations if a.type == "file_citation"}
    assert "alice_ch06_pig_and_pepper.html" in cited, (text.text, text.annotations)
    assert all(a.index == len(text.text) for a in text.annotations)
