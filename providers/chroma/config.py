"""Configuration of the chromadb vector store provider."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Persistence(BaseModel):
    """A kv store of the run config's ``storage.backends``, under a key prefix."""

    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(description="Key prefix in the backend.")
    backend: str = Field(description="Name of a `kv_*` backend in `storage.backends`.")


class ChromaVectorIOConfig(BaseModel):
    """Where the chunks live: an embedded chromadb folder (``path``) or a Chroma server (``url``)."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(default=None, description="Folder of an embedded chromadb (PersistentClient).")
    url: str | None = Field(
        default=None, description="A Chroma server (`chroma run`), e.g. http://127.0.0.1:8000; instead of `path`."
    )
    persistence: Persistence = Field(
        description="The kv store (namespace, backend from `storage.backends`) that keeps the store and file records."
    )
    chunk_tokens: int = Field(
        default=400, ge=16, description="Chunk size (cl100k tokens) for files attached with the `auto` strategy."
    )
    chunk_overlap_tokens: int = Field(
        default=80, ge=0, description="Tokens shared by consecutive chunks under the `auto` strategy."
    )
    embed_piece_tokens: int | None = Field(
        default=200,
        ge=16,
        description="A chunk longer than this is embedded as the mean of its pieces of this many tokens, so an "
        "embedder that reads 256 word pieces (MiniLM) still sees all of it; null embeds each chunk as it is.",
    )
    default_search_mode: Literal["vector", "keyword", "hybrid"] = Field(
        default="hybrid", description="The mode of a search that names none (the file_search tool names none)."
    )
    keyword_candidates: int = Field(
        default=2000,
        ge=10,
        description="Keyword search ranks at most this many chunks that contain a query word; raise it for "
        "large stores where common words match more chunks.",
    )
    shared: bool = Field(
        default=False,
        description="Other server replicas use the same kv store and Chroma server (the `cluster` distribution): "
        "reread a store's record before each call that names it, so stores made or changed through another "
        "replica are served here too.",
    )
    # Filled in by llama-stack from the run config's `vector_stores` section; not written by hand.
    vector_stores_config: Any = Field(default=None, exclude=True)

    @classmethod
    def sample_run_config(cls, __distro_dir__: str = "~/.herd/embedded", **kwargs: Any) -> dict[str, Any]:
        return {
            "path": kwargs.get("path", f"{__distro_dir__}/chroma"),
            "persistence": {"namespace": "vector_io::herd-chroma", "backend": "kv_default"},
        }

    @model_validator(mode="after")
    def _one_location(self) -> "ChromaVectorIOConfig":
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        if bool(self.path) == bool(self.url):
            raise ValueError("set exactly one of `path` (embedded chromadb) or `url` (a Chroma server)")
        return self
