"""PATH arguments into files: a file as is, a folder recursively, a glob pattern, a ``file://`` URL.

Inside folders, what the folder's ``.gitignore`` files exclude (at its root and nested),
``.git/``, hidden entries and files of unsupported types are left out; unsupported files
are reported so a summary can say why they were not added.
"""

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from herd.errors import InvalidRequest
from herd.providers.chroma.extract import SUPPORTED

GLOB_CHARS = ("*", "?", "[")


@dataclass
class Found:
    files: list[Path] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it is not ingested)

    def add(self, path: Path) -> None:
        if path not in self.files:
            self.files.append(path)


def expand(arguments: list[str]) -> Found:
    """Every file the arguments name, absolute (see ``absolute``) and without duplicates, in the order given."""
    found = Found()
    for argument in map(_local, arguments):
        path = absolute(argument)
        if path.is_dir():
            _walk(path, found)
        elif path.exists():
            found.add(path)
        elif any(c in argument for c in GLOB_CHARS):
            _expand_glob(argument, found)
        else:
            raise InvalidRequest(f"{argument}: no such file or folder; check the path (quote glob patterns)")
    return found


def _local(argument: str) -> str:
    """A ``file://`` URL as its path; other URLs are refused, since Herd fetches nothing."""
    from urllib.parse import unquote, urlparse

    url = urlparse(argument)
    if url.scheme == "file":
        if url.netloc not in ("", "localhost"):
            raise InvalidRequest(f"{argument}: a file:// URL must name a local file (file:///path/to/file)")
        return unquote(url.path)
    if url.scheme in ("http", "https", "ftp"):
        raise InvalidRequest(f"{argument}: only local files and file:// URLs are read; download it first")
    return argument


def absolute(path: str | Path) -> Path:
    """Absolute and normalised, but with symlinks kept: the path the user knows the file by."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def _expand_glob(pattern: str, found: Found) -> None:
    matches = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
    if not matches:
        raise InvalidRequest(f"{pattern}: the pattern matches no file; check it (`**` matches folders at any depth)")
    for match in map(Path, matches):
        if match.is_dir():
            _walk(absolute(match), found)
        else:
            _keep_if_supported(absolute(match), found)


def _keep_if_supported(path: Path, found: Found) -> None:
    if path.suffix.lower() in SUPPORTED:
        found.add(path)
    else:
        found.ignored.append(
            (path, f"unsupported file type {path.suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}")
        )


def _walk(root: Path, found: Found) -> None:
    rules: list[tuple[Path, pathspec.GitIgnoreSpec]] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        rules = [(base, spec) for base, spec in rules if here.is_relative_to(base)]
        spec = _gitignore(here)
        if spec is not None:
            rules.append((here, spec))
        dirs[:] = sorted(d for d in dirs if not _excluded(here / d, True, rules))
        for name in sorted(files):
            if not _excluded(here / name, False, rules):
                _keep_if_supported(here / name, found)


def _gitignore(folder: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = (folder / ".gitignore").read_text(errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _excluded(path: Path, is_dir: bool, rules: list[tuple[Path, pathspec.GitIgnoreSpec]]) -> bool:
    """Hidden entries are out; else the deepest .gitignore with a rule about the path decides, as in git."""
    if path.name.startswith("."):
        return True
    for base, spec in reversed(rules):
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        decision = spec.check_file(relative).include
        if decision is not None:
            return decision
    return False
