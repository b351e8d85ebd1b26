"""Reads the metadata header of a GGUF file (no weights, no llama.cpp needed).

Format: magic ``GGUF``, uint32 version, uint64 tensor count, uint64 kv count, then
kv pairs (string key, uint32 type, value). Arrays are skipped except their length.
"""

import mmap
import struct
from pathlib import Path
from typing import Any

from herd.errors import ConfigError

_SCALARS = {
    0: struct.Struct("<B"),
    1: struct.Struct("<b"),
    2: struct.Struct("<H"),
    3: struct.Struct("<h"),
    4: struct.Struct("<I"),
    5: struct.Struct("<i"),
    6: struct.Struct("<f"),
    7: struct.Struct("<?"),
    10: struct.Struct("<Q"),
    11: struct.Struct("<q"),
    12: struct.Struct("<d"),
}
_STRING, _ARRAY = 8, 9
_U32, _U64 = _SCALARS[4], _SCALARS[10]


class _Reader:
    """A cursor over the mapped file; a model's token list alone is ~150,000 strings to step over."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.at = 0

    def unpack(self, fmt: struct.Struct) -> Any:
        if self.at + fmt.size > len(self.data):
            raise EOFError
        (value,) = fmt.unpack_from(self.data, self.at)
        self.at += fmt.size
        return value

    def string(self) -> str:
        n = self.unpack(_U64)
        if self.at + n > len(self.data):
            raise EOFError
        text = bytes(self.data[self.at : self.at + n]).decode("utf-8", errors="replace")
        self.at += n
        return text

    def skip_strings(self, count: int) -> None:
        data, at, unpack = self.data, self.at, _U64.unpack_from
        for _ in range(count):
            at += 8 + unpack(data, at)[0]
        if at > len(data):
            raise EOFError
        self.at = at

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype, count = self.unpack(_U32), self.unpack(_U64)
            if itype in _SCALARS:
                self.at += _SCALARS[itype].size * count
            elif itype == _STRING:
                self.skip_strings(count)
            else:
                for _ in range(count):
                    self.value(itype)
            return f"<array of {count}>"
        raise ValueError(f"unknown GGUF value type {vtype}")


def read_metadata(path: Path) -> dict[str, Any]:
    """The key/value metadata of a GGUF file; ConfigError if it is not one."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data[:4] != b"GGUF":
                raise ConfigError(f"{path} is not a GGUF model file (bad magic); give the path of a .gguf file")
            reader = _Reader(data)
            reader.at = 4
            version = reader.unpack(_U32)
            reader.unpack(_U64)  # tensor count
            kv_count = reader.unpack(_U64)
            meta: dict[str, Any] = {"gguf.version": version}
            for _ in range(kv_count):
                key = reader.string()
                meta[key] = reader.value(reader.unpack(_U32))
            return meta
    except (EOFError, ValueError, struct.error) as exc:
        raise ConfigError(f"{path} is a truncated or corrupt GGUF file ({exc or 'unexpected end'})") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def context_length(meta: dict[str, Any]) -> int | None:
    arch = meta.get("general.architecture")
    value = meta.get(f"{arch}.context_length")
    return int(value) if isinstance(value, int) else None
