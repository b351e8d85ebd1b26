"""Reads the metadata header of a GGUF file (no weights, no llama.cpp needed).

Format: magic ``GGUF``, uint32 version, uint64 tensor count, uint64 kv count, then
kv pairs (string key, uint32 type, value). Arrays are skipped except their length.
"""

import struct
from pathlib import Path
from typing import Any, BinaryIO

from herd.errors import ConfigError

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack(fmt, data)[0]


def _string(f: BinaryIO) -> str:
    n = _read(f, "<Q")
    return f.read(n).decode("utf-8", errors="replace")


def _value(f: BinaryIO, vtype: int) -> Any:
    if vtype in _SCALARS:
        return _read(f, _SCALARS[vtype])
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        itype, count = _read(f, "<I"), _read(f, "<Q")
        if itype in _SCALARS:
            f.seek(struct.calcsize(_SCALARS[itype]) * count, 1)
        else:
            for _ in range(count):
                _value(f, itype)
        return f"<array of {count}>"
    raise ValueError(f"unknown GGUF value type {vtype}")


def read_metadata(path: Path) -> dict[str, Any]:
    """The key/value metadata of a GGUF file; ConfigError if it is not one."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise ConfigError(f"{path} is not a GGUF model file (bad magic); give the path of a .gguf file")
            version = _read(f, "<I")
            _read(f, "<Q")
            kv_count = _read(f, "<Q")
            meta: dict[str, Any] = {"gguf.version": version}
            for _ in range(kv_count):
                key = _string(f)
                meta[key] = _value(f, _read(f, "<I"))
            return meta
    except (EOFError, ValueError, struct.error) as exc:
        raise ConfigError(f"{path} is a truncated or corrupt GGUF file ({exc or 'unexpected end'})") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def context_length(meta: dict[str, Any]) -> int | None:
    arch = meta.get("general.architecture")
    value = meta.get(f"{arch}.context_length")
    return int(value) if isinstance(value, int) else None
