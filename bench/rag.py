"""RAG benchmark: Herd's vector stores against chromadb used directly, with the same embedder and chunks.

In one run, over the public-domain corpus in ``tests/data/rag`` (15 files, 167 questions):
- ingest throughput (chunks/s): upload + attach through the Herd server, against
  chunking + embedding (the same ONNX MiniLM, same batch size) + ``add`` into chromadb;
- query latency p50/p95: ``POST /v1/vector_stores/{id}/search`` against embedding the
  question + ``collection.query`` in this process;
- storage: Herd's chromadb folder plus its file records, against the direct folder;
- recall@5: a question counts when one of its top 5 chunks holds the verbatim answer.

    .venv/bin/python bench/rag.py [--copies 2] [--queries 2]

Targets (issue #5): ingest >= 0.9x direct, query p50 <= 1.2x direct + 5 ms, storage <= 1.5x
direct, recall@5 >= 0.8.
"""

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

# Run as a script, this folder is on sys.path; the launcher is a plain module beside it.
from launch import Launched

from herd.distribution.catalog import DEFAULT_EMBEDDING_MODEL, get_model
from herd.distribution.templates import embedded
from herd.providers.chroma.chunking import chunk_document
from herd.providers.chroma.extract import extract
from herd.providers.chroma.pieces import regroup, split

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "rag"
WINDOW, OVERLAP, PIECE, K = 400, 80, 200, 5


def corpus(copies: int) -> list[tuple[str, bytes]]:
    """The corpus files, ``copies`` times under distinct names (copy 0 is the one the questions name)."""
    files = sorted((DATA / "corpus").iterdir())
    return [(f"{n}-{f.name}" if n else f.name, f.read_bytes()) for n in range(copies) for f in files]


def questions() -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / "qa.jsonl").read_text().splitlines() if line.strip()]


def holds(answer: str, texts: list[str]) -> bool:
    return any(answer in " ".join(t.split()) for t in texts)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Direct:
    """chromadb in this process with the server's embedder: the baseline."""

    def __init__(self, path: Path) -> None:
        import chromadb
        from chromadb.config import Settings

        from herd.providers.embedded.onnx_engine import OnnxEmbedder

        entry = get_model(DEFAULT_EMBEDDING_MODEL)
        assert entry.tokenizer is not None
        tokenizer = entry.tokenizer.locate()
        assert tokenizer is not None, "the MiniLM tokenizer package is not installed"
        self.embedder = OnnxEmbedder(entry, entry.require_weights(), tokenizer, None)
        self.embedder.load()
        self.path = path
        client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
        self.collection = client.get_or_create_collection(
            "direct", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def ingest(self, files: list[tuple[str, bytes]]) -> tuple[int, float]:
        """Chunks stored and seconds taken, file by file as the server does it."""
        started, count = time.perf_counter(), 0
        for name, data in files:
            chunks = chunk_document(name, extract(name, data), WINDOW, OVERLAP, {"filename": name})
            texts = [str(c.content) for c in chunks]
            vectors = self.embed(texts)
            self.collection.add(
                ids=[f"{name}:{i}" for i in range(len(texts))],
                documents=texts,
                embeddings=vectors,
                metadatas=[{"filename": name} for _ in texts],
            )
            count += len(texts)
        return count, time.perf_counter() - started

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Each text as the mean of its pieces' vectors, as the server does (one embedder call)."""
        groups = [split(t, PIECE) for t in texts]
        flat, _ = self.embedder.embed(sum(groups, []))
        return regroup(flat, groups)

    def search(self, query: str) -> tuple[list[str], float]:
        started = time.perf_counter()
        (vector,), _ = self.embedder.embed([query])
        got = self.collection.query(query_embeddings=[vector.tolist()], n_results=K, include=["documents"])
        return got["documents"][0], time.perf_counter() - started


class ThroughHerd:
    """The same files and questions through a running Herd server's vector store API."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url + "/v1", timeout=600)
        self.store = self.http.post("/vector_stores", json={"name": "bench"}).json()["id"]

    def ingest(self, files: list[tuple[str, bytes]]) -> tuple[int, float]:
        started, ids = time.perf_counter(), []
        for name, data in files:
            uploaded = self.http.post("/files", files={"file": (name, data)}, data={"purpose": "assistants"}).json()
            attached = self.http.post(f"/vector_stores/{self.store}/files", json={"file_id": uploaded["id"]}).json()
            if attached["status"] != "completed":
                raise SystemExit(f"{name} was not ingested: {attached.get('last_error')}")
            ids.append(uploaded["id"])
        seconds = time.perf_counter() - started
        count = sum(len(self.http.get(f"/vector_stores/{self.store}/files/{i}/content").json()["data"]) for i in ids)
        return count, seconds

    def search(self, query: str, mode: str = "vector") -> tuple[list[str], float]:
        started = time.perf_counter()
        body = {"query": query, "max_num_results": K, "search_mode": mode}
        reply = self.http.post(f"/vector_stores/{self.store}/search", json=body)
        reply.raise_for_status()
        seconds = time.perf_counter() - started
        return [d["content"][0]["text"] for d in reply.json()["data"]], seconds


def kv_record_bytes(kvstore: Path) -> int:
    """Bytes of the vector store and file records Herd keeps in its kv store."""
    with sqlite3.connect(kvstore) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        total = 0
        for table in tables:
            rows = db.execute(f"select key, value from {table}").fetchall()
            total += sum(len(k) + len(v or "") for k, v in rows if "vector_store" in k or "herd-chroma" in k)
    return total


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run_queries(search: Any, qa: list[dict[str, str]]) -> tuple[list[float], float]:
    """Seconds per question and the share of questions whose answer is in the top K."""
    times, found = [], 0
    for q in qa:
        texts, seconds = search(q["question"])
        times.append(seconds)
        found += holds(q["answer"], texts)
    return times, found / len(qa)


def ratio_line(name: str, herd: float, direct: float, unit: str, target: str) -> str:
    return f"{name:22}{herd:12.2f}{direct:12.2f}{herd / direct:9.3f}x  {unit:10}{target}"


def report(
    ingest: dict[str, tuple[int, float]], times: dict[str, list[float]], recall: dict[str, float], sizes: dict[str, int]
) -> None:
    rate = {k: count / seconds for k, (count, seconds) in ingest.items()}
    p50 = {k: 1000 * statistics.median(v) for k, v in times.items()}
    p95 = {k: 1000 * percentile(v, 95) for k, v in times.items() if len(v) > 1}
    print(f"\n{'':22}{'herd':>12}{'direct':>12}{'ratio':>10}  {'unit':10}target")
    print(ratio_line("ingest", rate["herd"], rate["direct"], "chunks/s", ">= 0.9x"))
    print(ratio_line("query p50", p50["herd"], p50["direct"], "ms", f"<= {1.2 * p50['direct'] + 5:.2f} ms"))
    print(ratio_line("query p95", p95["herd"], p95["direct"], "ms", "-"))
    mb = {k: v / 1e6 for k, v in sizes.items()}
    print(ratio_line("storage", mb["herd"], mb["direct"], "MB", "<= 1.5x"))
    print(f"{'recall@5 (vector)':22}{recall['herd']:12.3f}{recall['direct']:12.3f}")
    for mode in ("hybrid", "keyword"):
        p50_mode = 1000 * statistics.median(times[f"herd {mode}"])
        print(
            f"recall@5 ({mode}){'':{13 - len(mode)}}{recall[f'herd {mode}']:12.3f}{'':12}{'':10}  p50 {p50_mode:.2f} ms"
        )
    print(f"best recall@5 (target >= 0.8): {max(recall.values()):.3f}")
    print(f"\nchunks: {ingest['herd'][0]} (direct {ingest['direct'][0]}); queries timed: {len(times['herd'])} each")
    met = (
        rate["herd"] >= 0.9 * rate["direct"]
        and p50["herd"] <= 1.2 * p50["direct"] + 5
        and sizes["herd"] <= 1.5 * sizes["direct"]
        and max(recall.values()) >= 0.8
    )
    print("targets:", "met" if met else "NOT met")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=1, help="times the corpus is ingested, under new names")
    parser.add_argument("--queries", type=int, default=2, help="passes over the questions per engine")
    args = parser.parse_args()
    files, qa = corpus(args.copies), questions()
    with tempfile.TemporaryDirectory(prefix="herd-bench-rag-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        server = Launched(embedded(chat_model="smollm2-135m-instruct"), home)
        try:
            server.wait_loaded(DEFAULT_EMBEDDING_MODEL, timeout=180)
            direct, herd = Direct(Path(tmp) / "direct"), ThroughHerd(server.url)
            print(f"server up at {server.url}; ingesting {len(files)} files", flush=True)
            ingest = {"direct": direct.ingest(files), "herd": herd.ingest(files)}
            if ingest["direct"][0] != ingest["herd"][0]:
                raise SystemExit(f"chunk counts differ: {ingest}")
            engines = {
                "herd": herd.search,
                "direct": direct.search,
                "herd hybrid": lambda q: herd.search(q, "hybrid"),
                "herd keyword": lambda q: herd.search(q, "keyword"),
            }
            for search in engines.values():
                search("warm-up question")
            times: dict[str, list[float]] = {name: [] for name in engines}
            recall: dict[str, float] = {}
            # Vector search both ways, alternating (herd, direct, direct, herd, ...) so drift in
            # machine load falls on both alike; then Herd's other modes.
            order = (["herd", "direct", "direct", "herd"] * args.queries)[: 2 * args.queries]
            for name in [*order, "herd hybrid", "herd keyword"]:
                got, found = run_queries(engines[name], qa)
                times[name] += got
                recall.setdefault(name, found)
        finally:
            server.stop()
        herd_bytes = folder_bytes(home / "embedded" / "chroma") + kv_record_bytes(home / "embedded" / "kvstore.db")
        report(ingest, times, recall, {"herd": herd_bytes, "direct": folder_bytes(Path(tmp) / "direct")})


if __name__ == "__main__":
    sys.exit(main())
