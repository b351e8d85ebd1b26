"""Fixtures that run the real server: ``herd run <config>`` as a subprocess, driven over HTTP.

Each server gets its own ``HERD_HOME`` (its sqlite state, files and tiktoken cache),
while ``HERD_HOME/models`` links to one folder shared by the whole session, so the
default model's split weights are joined at most once per test run.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from herd.distribution import runconfig, templates

# The `herd` script next to the interpreter running the tests (.venv/bin/herd), else the one on PATH.
HERD = Path(sys.executable).with_name("herd")
if not HERD.exists():
    HERD = Path(shutil.which("herd") or HERD)
CHAT_MODEL = "herd/smollm2-135m-instruct"
EMBEDDING_MODEL = "herd/all-minilm-l6-v2"
TINY_MODEL = "smollm2-135m-instruct"
HEALTH_TIMEOUT = 60.0
LOAD_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HerdServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    home: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        stop_process_group(self.process, timeout=10)


def stop_process_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM to a child started with ``start_new_session``, SIGKILL if it outlives ``timeout``."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real entry point (which turns HerdError into one line and exit 1) in-process."""
    from herd.cli.main import main

    monkeypatch.setattr(sys, "argv", ["herd", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def make_home(root: Path, models_dir: Path) -> Path:
    """A fresh HERD_HOME under ``root`` whose ``models`` folder is the shared one."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "models").symlink_to(models_dir, target_is_directory=True)
    return root


def _preloads(config: dict[str, Any]) -> list[str]:
    preload: list[str] = []
    for provider in config.get("providers", {}).get("inference", []):
        preload.extend((provider.get("config") or {}).get("preload") or [])
    return preload


def start_server(
    config: dict[str, Any] | str,
    home: Path,
    workdir: Path,
    *,
    extra_args: tuple[str, ...] = (),
    wrapper: tuple[str, ...] = (),
    health_timeout: float = HEALTH_TIMEOUT,
    load_timeout: float = LOAD_TIMEOUT,
    api_key: str | None = None,
    env: dict[str, str] | None = None,
) -> HerdServer:
    """Write ``config`` to ``workdir``, run ``herd run`` on a free port, and wait until it serves.

    ``config`` may be a distribution's name instead, served as ``herd run NAME``; ``env`` is
    added to this process's environment for the server.

    ``wrapper`` prefixes the command (a ``bwrap ...`` sandbox, say). Returns once
    /v1/health answers 200 and /v1/herd/status lists every preloaded model as loaded;
    on a timeout or an early exit the server is stopped and the test fails with the
    tail of its log. With ``api_key`` (``KEY`` or ``NAME=KEY``) the
    server requires it, and the readiness checks send it.
    """
    if api_key:
        extra_args = ("--api-key", api_key, *extra_args)
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(config, str):
        target, config = config, templates.DISTRIBUTIONS[config].render()
    else:
        target = str(workdir / "run.yaml")
        Path(target).write_text(runconfig.render(config.get("distro_name", "embedded"), config))
    port = free_port()
    log_path = workdir / "server.log"
    server_env = {**os.environ, **(env or {}), "HERD_HOME": str(home)}
    server_env.pop("LLAMA_STACK_CONFIG", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*wrapper, str(HERD), "run", target, "--port", str(port), *extra_args],
            env=server_env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = HerdServer(f"http://127.0.0.1:{port}", process, log_path, home)
    try:
        secret = api_key.rpartition("=")[2] if api_key else None
        _wait_until_ready(server, _preloads(config), health_timeout, load_timeout, secret)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_ready(
    server: HerdServer, models: list[str], health_timeout: float, load_timeout: float, api_key: str | None
) -> None:
    def fail(why: str) -> None:
        pytest.fail(f"herd server {why}; last lines of {server.log_path}:\n{server.log_tail()}", pytrace=False)

    started = time.monotonic()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=server.base_url, timeout=5, headers=headers) as http:
        while True:
            if server.process.poll() is not None:
                fail(f"exited with status {server.process.returncode} before answering /v1/health")
            with contextlib.suppress(httpx.TransportError):
                if http.get("/v1/health").status_code == 200:
                    break
            if time.monotonic() - started > health_timeout:
                fail(f"did not answer /v1/health within {health_timeout:.0f} s")
            time.sleep(0.25)
        loaded: dict[str, Any] = {}
        while True:
            if server.process.poll() is not None:
                fail(f"exited with status {server.process.returncode} while loading models")
            with contextlib.suppress(httpx.TransportError):
                response = http.get("/v1/herd/status")
                if response.status_code == 200:
                    loaded = response.json().get("models_loaded", {})
                    if all(m in loaded for m in models):
                        return
            if time.monotonic() - started > load_timeout:
                fail(f"had loaded only {sorted(loaded)} of {models} after {load_timeout:.0f} s")
            time.sleep(0.25)


# -- session fixtures --------------------------------------------------------


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's shared ``HERD_HOME/models``: joined weights land here once, and go at the end."""
    path = tmp_path_factory.mktemp("herd-models")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # pytest keeps old temp dirs; 1.1 GB each is too much


@pytest.fixture(scope="session")
def default_model_weights(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    """Join the default model's split weights into the shared models folder (~1.1 GB, once per session)."""
    from herd.distribution.catalog import DEFAULT_CHAT_MODEL, get_model
    from herd.distribution.weights import prepare

    home = make_home(tmp_path_factory.mktemp("herd-join") / "home", models_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HERD_HOME", str(home))
        return prepare(get_model(DEFAULT_CHAT_MODEL))


@pytest.fixture(scope="session")
def herd_server_factory(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Any]:
    """``start(config, name, extra_args=(), api_key=None)`` → a running HerdServer, stopped at session end (or by the caller)."""
    servers: list[HerdServer] = []

    def start(
        config: dict[str, Any], name: str, extra_args: tuple[str, ...] = (), api_key: str | None = None
    ) -> HerdServer:
        root = tmp_path_factory.mktemp(name)
        home = make_home(root / "home", models_dir)
        server = start_server(config, home, root, extra_args=extra_args, api_key=api_key)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def tiny_server(herd_server_factory: Any) -> HerdServer:
    """The embedded distribution with the tiny chat model (SmolLM2-135M, context 8192, parallel 1)."""
    return herd_server_factory(templates.embedded(chat_model=TINY_MODEL), "herd-tiny")


@pytest.fixture(scope="session")
def base_url(tiny_server: HerdServer) -> str:
    return tiny_server.base_url


@pytest.fixture(scope="session")
def chat_model() -> str:
    return CHAT_MODEL


@pytest.fixture(scope="session")
def embedding_model() -> str:
    return EMBEDDING_MODEL


@pytest.fixture(scope="session")
def ls_client(base_url: str) -> Any:
    from llama_stack_client import LlamaStackClient

    return LlamaStackClient(base_url=base_url, timeout=120, max_retries=0)


@pytest.fixture(scope="session")
def oa_client(base_url: str) -> Any:
    import openai

    return openai.OpenAI(base_url=base_url + "/v1", api_key="none", timeout=120, max_retries=0)


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        yield client
