"""Loading one local model folder: weights, tokenizer (and processor for vision), device and dtype.

Everything is read from the folder (``local_files_only``): no hub at run time. The chat
template is the tokenizer's (or processor's) own, from the folder's tokenizer config.
"""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from herd.distribution.priority import at_base_priority
from herd.errors import ConfigError, ModelNotAvailable

from .config import LocalModel

log = logging.getLogger("herd.transformers")

_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
_END_TOKENS = ("<|eot_id|>", "<|eom_id|>", "<|end_of_text|>")


@dataclass
class Loaded:
    spec: LocalModel
    model: Any
    tokenizer: Any
    processor: Any  # MllamaProcessor for vision models, else None
    device: Any
    end_ids: frozenset[int]
    context_length: int
    load_seconds: float
    token_texts: list[str] | None = field(default=None, repr=False)  # built on first constrained request

    @property
    def is_vision(self) -> bool:
        return self.processor is not None

    def texts(self) -> list[str]:
        """Each token id's text (special tokens as None-like ''), for constrained decoding."""
        if self.token_texts is None:
            special = set(self.tokenizer.all_special_ids) | set(getattr(self.tokenizer, "added_tokens_decoder", {}))
            size = len(self.tokenizer)
            self.token_texts = ["" if i in special else self.tokenizer.decode([i]) for i in range(size)]
        return self.token_texts


def pick_device(wanted: str) -> Any:
    import torch

    if wanted == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but torch sees no GPU; set device to auto or cpu")
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(wanted)


def pick_dtype(wanted: str, device: Any) -> Any:
    import torch

    if wanted == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, _DTYPES[wanted])


def _quantization(spec: LocalModel, device: Any) -> Any:
    if spec.quantization == "none":
        return None
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None or device.type != "cuda":
        raise ConfigError(
            f"model '{spec.id}' asks for {spec.quantization} quantization, which needs bitsandbytes and a GPU; "
            "install bitsandbytes into .venv-cuda on a GPU machine, or set quantization: none"
        )
    from transformers import BitsAndBytesConfig

    if spec.quantization == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True)
    return BitsAndBytesConfig(load_in_8bit=True)


def load(spec: LocalModel) -> Loaded:
    import transformers

    at_base_priority()  # torch's threads start with the loading thread's priority, never the serving one's

    path = Path(spec.path).expanduser()
    if not (path / "config.json").exists():
        raise ModelNotAvailable(
            f"model '{spec.id}': {path} has no config.json; point `path` at a folder written by save_pretrained "
            "(e.g. a downloaded Llama-3.2-1B-Instruct)"
        )
    start = time.perf_counter()
    device = pick_device(spec.device)
    dtype = pick_dtype(spec.dtype, device)
    quant = _quantization(spec, device)
    config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
    vision = config.model_type == "mllama"
    if spec.kind == "vision" and not vision:
        raise ConfigError(f"model '{spec.id}' is kind vision but {path} holds a {config.model_type} model")
    cls = transformers.MllamaForConditionalGeneration if vision else transformers.AutoModelForCausalLM
    kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": True}
    if quant is not None:
        kwargs.update(quantization_config=quant, device_map={"": device.index or 0})
    model = cls.from_pretrained(path, **kwargs)
    if quant is None:
        model = model.to(device)
    model.eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    processor = transformers.AutoProcessor.from_pretrained(path, local_files_only=True) if vision else None
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    loaded = Loaded(
        spec,
        model,
        tokenizer,
        processor,
        device,
        end_ids=_end_ids(model, tokenizer),
        context_length=int(getattr(text_config, "max_position_embeddings", 8192)),
        load_seconds=time.perf_counter() - start,
    )
    log.info("loaded %s from %s on %s (%s) in %.2f s", spec.id, path, device, dtype, loaded.load_seconds)
    return loaded


def _end_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    eos = getattr(model.generation_config, "eos_token_id", None)
    ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    vocab = tokenizer.get_vocab()
    ids.update(vocab[t] for t in _END_TOKENS if t in vocab)
    return frozenset(ids)
