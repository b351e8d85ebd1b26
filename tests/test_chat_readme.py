"""The README's key table for `herd chat` is the app's own list of actions."""

from pathlib import Path

from herd.apps.chat.screens.chat import ACTIONS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_chat_key() -> None:
    text = README.read_text()
    for key, _action, _label, help_text in ACTIONS:
        assert f"| {key} | {help_text} |" in text, f"README's `herd chat` table misses {key}: {help_text}"
