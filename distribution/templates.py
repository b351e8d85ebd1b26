"""Distribution templates: Python that generates llama-stack run configs.

A template returns a plain dict in llama-stack's run-config schema (version 2), so a
llama-stack user recognises every line of the file ``herd build`` writes. The
committed ``run.yaml`` is ``embedded()`` rendered; a test fails when they drift.
State lives under ``$HERD_HOME`` (default ``~/.herd``), one folder per distribution.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from herd.distribution.catalog import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL

EMBEDDED_MODULE = "herd.providers.embedded"
EMBEDDED_TYPE = "inline::herd-embedded"
COMPOSE_MODULE = "herd.providers.compose"
CHROMA_MODULE = "herd.providers.chroma"
CHROMA_TYPE = "inline::herd-chroma"
COMPOSE_TYPE = "inline::herd-compose"
FILES_MODULE = "herd.providers.files"
FILES_TYPE = "inline::herd-files"
SHIELDS_MODULE = "herd.providers.shields"
SHIELDS_TYPE = "inline::herd-shields"
# Tool providers, one tool group each. herd::web (page fetch, inline::herd-web) is left out:
# Herd is offline-first; add its provider to a run config to serve it.
CODE_TYPE = "inline::herd-code"
MCP_TYPE = "inline::herd-mcp"
MCP_MODULE = "herd.providers.mcp"
TOOL_PROVIDERS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("herd-code", CODE_TYPE, "herd.providers.code", {}),
    ("herd-tools", "inline::herd-tools", "herd.providers.tools", {}),
    # MCP servers: `herd tools add-mcp` adds them here.
    ("herd-mcp", MCP_TYPE, MCP_MODULE, {"servers": []}),
)
OFFLINE_SHIELD = "prompt-guard"
GUARD_SHIELD = "llama-guard"
VISION_MODEL = "vision-composed"


def _state(distro: str) -> str:
    return "${env.HERD_HOME:=~/.herd}/" + distro


def chroma_store(distro: str, url: str | None = None) -> dict[str, Any]:
    """Herd's chromadb vector stores: embedded under the distribution's state folder, or a Chroma server."""
    where = {"url": url} if url else {"path": f"{_state(distro)}/chroma"}
    return {
        "provider_id": "chroma",
        "provider_type": CHROMA_TYPE,
        "module": CHROMA_MODULE,
        "config": {**where, "persistence": {"namespace": "vector_io::herd-chroma", "backend": "kv_default"}},
    }


def shields(guard_model: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shields provider and Herd's shield policy.

    The offline prompt-attack shield screens user input and tool results (retrieved
    chunks included) by default. With ``guard_model`` (a registered Llama Guard 3 model,
    e.g. ``ollama/llama-guard3:1b``), Llama Guard also judges input and output.
    """
    configured: list[dict[str, Any]] = [{"kind": "offline", "id": OFFLINE_SHIELD}]
    policy: dict[str, Any] = {"input": [OFFLINE_SHIELD], "tool_results": [OFFLINE_SHIELD], "on_error": "closed"}
    if guard_model:
        configured.append({"kind": "llama-guard", "id": GUARD_SHIELD, "model": guard_model})
        policy.update(input=[OFFLINE_SHIELD, GUARD_SHIELD], output=[GUARD_SHIELD])
    provider = {
        "provider_id": "herd-shields",
        "provider_type": SHIELDS_TYPE,
        "module": SHIELDS_MODULE,
        "config": {"shields": configured},
    }
    return provider, policy


def _common(
    distro: str,
    inference: list[dict[str, Any]],
    embedding: dict[str, str] | None,
    chroma_url: str | None = None,
    guard_model: str | None = None,
) -> dict[str, Any]:
    """Everything but inference: files, vector stores, responses, shields, tools, sqlite storage."""
    shield_provider, shield_policy = shields(guard_model)
    registered = [
        {"shield_id": s["id"], "provider_id": "herd-shields", "provider_shield_id": s["id"]}
        for s in shield_provider["config"]["shields"]
    ]
    state = _state(distro)
    config: dict[str, Any] = {
        "version": 2,
        "distro_name": distro,
        "apis": ["files", "inference", "responses", "safety", "tool_runtime", "vector_io"],
        "providers": {
            "inference": inference,
            "safety": [shield_provider],
            "vector_io": [chroma_store(distro, chroma_url)],
            "files": [
                {
                    "provider_id": "builtin-files",
                    "provider_type": FILES_TYPE,
                    "module": FILES_MODULE,
                    "config": {
                        "storage_dir": f"{state}/files",
                        "metadata_store": {"table_name": "files_metadata", "backend": "sql_default"},
                    },
                }
            ],
            "responses": [
                {
                    "provider_id": "builtin",
                    "provider_type": "inline::builtin",
                    "config": {
                        "persistence": {
                            "agent_state": {"namespace": "agents", "backend": "kv_default"},
                            "responses": {"table_name": "responses", "backend": "sql_default"},
                        }
                    },
                }
            ],
            "tool_runtime": [
                {"provider_id": "file-search", "provider_type": "inline::file-search"},
                {"provider_id": "model-context-protocol", "provider_type": "remote::model-context-protocol"},
                *(
                    {"provider_id": pid, "provider_type": ptype, "module": module, **({"config": c} if c else {})}
                    for pid, ptype, module, c in TOOL_PROVIDERS
                ),
            ],
        },
        "storage": {
            "backends": {
                "kv_default": {"type": "kv_sqlite", "db_path": f"{state}/kvstore.db"},
                "sql_default": {"type": "sql_sqlite", "db_path": f"{state}/sql_store.db"},
            },
            "stores": {
                "metadata": {"namespace": "registry", "backend": "kv_default"},
                "inference": {"table_name": "inference_store", "backend": "sql_default"},
                "conversations": {"table_name": "openai_conversations", "backend": "sql_default"},
                "prompts": {"namespace": "prompts", "backend": "kv_default"},
                "connectors": {"namespace": "connectors", "backend": "kv_default"},
            },
        },
        "registered_resources": {"models": [], "shields": registered, "vector_stores": [], "tool_groups": []},
        "safety": {"default_shield_id": OFFLINE_SHIELD},
        "server": {"port": 8321},
        "herd": {"shields": shield_policy},
    }
    if embedding:
        config["vector_stores"] = {
            "default_provider_id": "chroma",
            "default_embedding_model": embedding,
            # Hybrid search fuses the 0-1 vector and keyword scores half and half: on the shipped
            # QA set (bench/rag.py) that finds more answers than reciprocal rank fusion.
            "chunk_retrieval_params": {"default_reranker_strategy": "weighted", "weighted_search_alpha": 0.5},
        }
    return config


def embedded(
    chat_model: str = DEFAULT_CHAT_MODEL,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    extra_models: tuple[str, ...] = (),
    context_length: int = 8192,
    chroma_url: str | None = None,
    distro: str = "embedded",
    guard_model: str | None = None,
) -> dict[str, Any]:
    """llama.cpp in-process with the chat model, ONNX MiniLM embeddings; no network, no GPU.

    Vector stores are an embedded chromadb, or the Chroma server at ``chroma_url``.
    ``guard_model`` (a Llama Guard 3 GGUF added with ``herd models add``) adds the Llama
    Guard shield, served by the same in-process engine.
    """
    guard = [guard_model] if guard_model else []
    models = list(dict.fromkeys([chat_model, *extra_models, *guard, embedding_model]))
    provider = {
        "provider_id": "herd",
        "provider_type": EMBEDDED_TYPE,
        "module": EMBEDDED_MODULE,
        "config": {
            "models": models,
            "preload": [chat_model, embedding_model],
            "context_length": context_length,
            "parallel": 1,
            "max_queue": 16,
        },
    }
    inference = [provider, compose(f"herd/{chat_model}", {"kind": "ocr"})]
    embedder = {"provider_id": "herd", "model_id": embedding_model}
    return _common(distro, inference, embedder, chroma_url, f"herd/{guard_model}" if guard_model else None)


def chroma(guard_model: str | None = None) -> dict[str, Any]:
    """``embedded``, with the vector stores on a Chroma server (``chroma run``) at ``CHROMA_URL``."""
    return embedded(chroma_url="${env.CHROMA_URL:=http://127.0.0.1:8000}", distro="chroma", guard_model=guard_model)


def compose(reasoner: str, vision: dict[str, Any]) -> dict[str, Any]:
    """The composed model ``compose/vision-composed``: a vision stage, then ``reasoner``."""
    return {
        "provider_id": "compose",
        "provider_type": COMPOSE_TYPE,
        "module": COMPOSE_MODULE,
        "config": {"models": [{"id": VISION_MODEL, "reasoner": reasoner, "vision": vision}]},
    }


OLLAMA_MODULE = "herd.providers.ollama"
OLLAMA_TYPE = "remote::herd-ollama"


def ollama(
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    reasoner: str = "llama3.2:3b",
    vision_model: str = "llama3.2-vision",
    guard_model: str | None = None,
) -> dict[str, Any]:
    """Chat through a local Ollama server (``OLLAMA_URL``), tool calls normalised; embeddings stay embedded.

    ``compose/vision-composed`` has Ollama's ``vision_model`` read the images for ``reasoner``.
    ``guard_model`` (e.g. ``llama-guard3:1b``, pulled into Ollama) adds the Llama Guard shield.
    """
    url = "${env.OLLAMA_URL:=http://localhost:11434}/v1"
    providers = [
        {"provider_id": "ollama", "provider_type": OLLAMA_TYPE, "module": OLLAMA_MODULE, "config": {"base_url": url}},
        {
            "provider_id": "herd",
            "provider_type": EMBEDDED_TYPE,
            "module": EMBEDDED_MODULE,
            "config": {"models": [embedding_model], "preload": [embedding_model]},
        },
        compose(f"ollama/{reasoner}", {"kind": "ollama", "url": url, "model": vision_model}),
    ]
    embedder = {"provider_id": "herd", "model_id": embedding_model}
    return _common("ollama", providers, embedder, guard_model=f"ollama/{guard_model}" if guard_model else None)


TRANSFORMERS_MODULE = "herd.providers.transformers"
TRANSFORMERS_TYPE = "inline::herd-transformers"
CUDA_CHAT_PATH = "${env.HERD_CUDA_MODEL:=~/.herd/hf/Llama-3.2-1B-Instruct}"


def cuda(
    chat_path: str = CUDA_CHAT_PATH,
    vision_path: str | None = None,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    guard_model: str | None = None,
) -> dict[str, Any]:
    """Chat (and vision) on transformers + torch in-process, CUDA when present; MiniLM embeddings stay embedded.

    Models are local folders (``HERD_CUDA_MODEL``, a Llama 3.2 Instruct); needs `make install-cuda`.
    ``guard_model`` is the folder of a Llama Guard 3 model (1B, or 11B-Vision when its name says so).
    """
    models: list[dict[str, Any]] = [{"id": "llama-3.2-instruct", "path": chat_path, "kind": "text"}]
    if vision_path:
        models.append({"id": "llama-3.2-vision-instruct", "path": vision_path, "kind": "vision"})
    guard_id = None
    if guard_model:
        vision_guard = "vision" in guard_model.lower() or "11b" in guard_model.lower()
        guard_id = "llama-guard-3-11b-vision" if vision_guard else "llama-guard-3-1b"
        models.append({"id": guard_id, "path": guard_model, "kind": "guard"})
    providers = [
        {
            "provider_id": "hf",
            "provider_type": TRANSFORMERS_TYPE,
            "module": TRANSFORMERS_MODULE,
            "config": {"models": models, "max_batch": 8, "max_queue": 32},
        },
        {
            "provider_id": "herd",
            "provider_type": EMBEDDED_TYPE,
            "module": EMBEDDED_MODULE,
            "config": {"models": [embedding_model], "preload": [embedding_model]},
        },
    ]
    embedder = {"provider_id": "herd", "model_id": embedding_model}
    return _common("cuda", providers, embedder, guard_model=f"hf/{guard_id}" if guard_id else None)


VLLM_TYPE = "remote::vllm"
DEFAULT_VLLM_URLS = "http://127.0.0.1:8000/v1"


def postgres_backends() -> dict[str, dict[str, Any]]:
    """llama-stack's PostgreSQL stores (``POSTGRES_HOST``, ``_PORT``, ``_DB``, ``_USER``, ``_PASSWORD``), kv and sql."""
    where = {
        "host": "${env.POSTGRES_HOST:=127.0.0.1}",
        "port": "${env.POSTGRES_PORT:=5432}",
        "db": "${env.POSTGRES_DB:=herd}",
        "user": "${env.POSTGRES_USER:=herd}",
        "password": "${env.POSTGRES_PASSWORD:=}",
    }
    return {
        "kv_default": {"type": "kv_postgres", **where, "table_name": "herd_kvstore"},
        "sql_default": {"type": "sql_postgres", **where},
    }


def _vllm(url: str) -> dict[str, Any]:
    return {
        "base_url": url,
        "api_token": "${env.VLLM_API_TOKEN:=}",
        "max_tokens": "${env.VLLM_MAX_TOKENS:=4096}",
        "network": {"tls": {"verify": "${env.VLLM_TLS_VERIFY:=true}"}},
    }


def cluster(
    vllm_urls: str | None = None,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    guard_model: str | None = None,
) -> dict[str, Any]:
    """Stateless replicas behind a load balancer: chat on vLLM, vectors on a Chroma server, state in PostgreSQL.

    ``vllm_urls`` (else ``VLLM_URLS``: comma-separated OpenAI-compatible base URLs) gives one
    ``remote::vllm`` provider per URL, ``vllm``, ``vllm-2``, ...; it is read when the template
    renders, which ``herd run cluster`` does at every start. MiniLM embeddings stay in-process
    on each replica. Every store (registry, conversations, responses, files metadata, vector
    store records) is on ``postgres_backends()``; uploaded files' bytes are in ``HERD_FILES_DIR``
    (default under ``$HERD_HOME``), which must be one volume shared by every replica.
    ``guard_model`` is a Llama Guard 3 model id as the first vLLM server lists it.
    """
    from herd.distribution.home import herd_home
    from herd.errors import ConfigError

    given = vllm_urls if vllm_urls is not None else os.environ.get("VLLM_URLS", DEFAULT_VLLM_URLS)
    urls = [u.strip() for u in given.split(",") if u.strip()]
    if not urls:
        raise ConfigError(
            "VLLM_URLS holds no URL; set it to vLLM base URLs, e.g. http://gpu-1:8000/v1,http://gpu-2:8000/v1"
        )
    providers: list[dict[str, Any]] = [
        {"provider_id": "vllm" if i == 1 else f"vllm-{i}", "provider_type": VLLM_TYPE, "config": _vllm(url)}
        for i, url in enumerate(urls, start=1)
    ]
    providers.append(
        {
            "provider_id": "herd",
            "provider_type": EMBEDDED_TYPE,
            "module": EMBEDDED_MODULE,
            "config": {"models": [embedding_model], "preload": [embedding_model]},
        }
    )
    embedder = {"provider_id": "herd", "model_id": embedding_model}
    config = _common(
        "cluster",
        providers,
        embedder,
        chroma_url="${env.CHROMA_URL:=http://127.0.0.1:8000}",
        guard_model=f"vllm/{guard_model}" if guard_model else None,
    )
    config["providers"]["vector_io"][0]["config"]["shared"] = True
    files_dir = herd_home() / "cluster" / "files"
    config["providers"]["files"][0]["config"]["storage_dir"] = "${env.HERD_FILES_DIR:=" + str(files_dir) + "}"
    config["storage"]["backends"] = postgres_backends()
    return config


@dataclass(frozen=True)
class Distribution:
    name: str
    description: str
    render: Callable[..., dict[str, Any]]  # keyword ``guard_model`` adds the Llama Guard shield


DISTRIBUTIONS: dict[str, Distribution] = {
    d.name: d
    for d in (
        Distribution(
            "embedded", "default: llama.cpp in-process + ONNX embeddings, chromadb vector stores; offline", embedded
        ),
        Distribution("chroma", "embedded, with vector stores on a Chroma server at CHROMA_URL (`chroma run`)", chroma),
        Distribution("ollama", "chat on a local Ollama server at OLLAMA_URL; embeddings in-process", ollama),
        Distribution(
            "cuda", "chat on transformers + torch in-process (CUDA or CPU), local model folders; needs .venv-cuda", cuda
        ),
        Distribution(
            "cluster",
            "replicas behind a load balancer: chat on vLLM at VLLM_URLS, vectors on Chroma, state in PostgreSQL",
            cluster,
        ),
    )
}
