"""Where Herd keeps its state: ``$HERD_HOME`` or ``~/.herd``."""

import os
from pathlib import Path


def herd_home() -> Path:
    return Path(os.environ.get("HERD_HOME") or Path.home() / ".herd").expanduser()


def models_dir() -> Path:
    return herd_home() / "models"
