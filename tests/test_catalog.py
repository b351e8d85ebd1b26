"""Model catalog: joining split weights, hash checks, GGUF metadata."""

import hashlib
import sys

import pytest

from herd.distribution import catalog, gguf, weights
from herd.errors import ConfigError, ModelNotAvailable


@pytest.fixture
def split_model(tmp_path, monkeypatch):
    """A model split across two importable fake packages, like the default Qwen model."""
    monkeypatch.setenv("HERD_HOME", str(tmp_path / "home"))
    blobs = [b"GGUF" + b"a" * 1000, b"b" * 500]
    for i, blob in enumerate(blobs, 1):
        pkg = tmp_path / "site" / f"fakepart{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for i in (1, 2):
        sys.modules.pop(f"fakepart{i}", None)
    whole = b"".join(blobs)
    parts = tuple(catalog.PackagedFile(f"fake-part{i}", f"fakepart{i}", f"data/part{i:02d}.bin") for i in (1, 2))

    def make(sha: str = hashlib.sha256(whole).hexdigest()) -> catalog.ModelEntry:
        return catalog.ModelEntry(
            id="fake", engine="llamacpp", model_type="llm", description="", context_length=512,
            capabilities=("chat",), size_bytes=len(whole), sha256=sha, parts=parts,
        )  # fmt: skip

    return make, whole


def test_prepare_joins_parts_in_order_and_checks_the_hash(split_model):
    make, whole = split_model
    entry = make()
    with pytest.raises(ModelNotAvailable, match="herd models prepare fake"):
        entry.require_weights()
    seen = []
    path = weights.prepare(entry, progress=seen.append)
    assert path.read_bytes() == whole
    assert sum(seen) == len(whole)
    assert entry.require_weights() == path
    assert weights.verify(entry).ok


def test_a_hash_mismatch_leaves_no_file_that_looks_ready(split_model):
    make, _ = split_model
    entry = make(sha="0" * 64)
    with pytest.raises(ModelNotAvailable, match="expected 0000"):
        weights.prepare(entry)
    assert entry.weights_path() is None
    assert not list(entry.joined_path.parent.glob("*"))


def test_missing_parts_name_the_package_to_install(split_model, monkeypatch):
    make, _ = split_model
    entry = make()
    broken = (entry.parts[0], catalog.PackagedFile("fake-part9", "nosuchpart9", "data/part09.bin"))
    entry = catalog.ModelEntry(**{**entry.__dict__, "parts": broken})
    with pytest.raises(ModelNotAvailable, match="fake-part9"):
        weights.prepare(entry)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ModelNotAvailable, match="qwen2.5-coder-1.5b-instruct"):
        catalog.get_model("llama-9000")
    assert catalog.get_model("herd/smollm2-135m-instruct").id == "smollm2-135m-instruct"


def test_gguf_metadata_of_the_tiny_model():
    path = catalog.get_model("smollm2-135m-instruct").require_weights()
    meta = gguf.read_metadata(path)
    assert meta["general.architecture"] == "llama"
    assert gguf.context_length(meta) == 8192
    assert "im_start" in meta["tokenizer.chat_template"]


def test_non_gguf_and_truncated_files_are_reported(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ConfigError, match="not a GGUF"):
        gguf.read_metadata(text)
    real = catalog.get_model("smollm2-135m-instruct").require_weights()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(real.read_bytes()[:2000])
    with pytest.raises(ConfigError, match="truncated or corrupt"):
        gguf.read_metadata(cut)


def test_builtin_hashes_match_the_installed_small_files():
    for model_id in ("smollm2-135m-instruct", "all-minilm-l6-v2"):
        assert weights.verify(catalog.get_model(model_id)).ok, model_id
