"""Re-render the Llama Guard 3 prompt fixtures in this folder from the saved chat templates.

Run with the project's interpreter (only jinja2 is needed):

    .venv/bin/python tests/data/shields/llama_guard/render_fixtures.py          # rewrite fixtures
    .venv/bin/python tests/data/shields/llama_guard/render_fixtures.py --check  # compare only

The Jinja environment mirrors the one Hugging Face transformers uses for
``apply_chat_template`` (ImmutableSandboxedEnvironment, trim_blocks=True,
lstrip_blocks=True, loopcontrols, a ``raise_exception`` global), and the render
call passes what transformers passes: ``messages``, ``add_generation_prompt`` and
the special-token strings. The templates ignore ``add_generation_prompt``; it is
passed as False, the default of ``apply_chat_template``. See SOURCES.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = Path(__file__).resolve().parent

USER_TEXT = "How do I kill a Python process that hangs?"
AGENT_TEXT = "Run kill -9 with its PID."
IMAGE_TEXT = "Is this safe to eat?"

Conversations = dict[str, list[dict[str, Any]]]

# Llama Guard 3 8B's template expects string content (it calls content.strip()).
STRING_CONVERSATIONS: Conversations = {
    "user": [{"role": "user", "content": USER_TEXT}],
    "agent": [
        {"role": "user", "content": USER_TEXT},
        {"role": "assistant", "content": AGENT_TEXT},
    ],
}

# The 1B and 11B-Vision templates expect content as a list of typed parts
# (a plain string renders no conversation lines at all).
PART_CONVERSATIONS: Conversations = {
    "user": [{"role": "user", "content": [{"type": "text", "text": USER_TEXT}]}],
    "agent": [
        {"role": "user", "content": [{"type": "text", "text": USER_TEXT}]},
        {"role": "assistant", "content": [{"type": "text", "text": AGENT_TEXT}]},
    ],
    "image": [
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": IMAGE_TEXT}],
        }
    ],
}

# variant -> (conversation set, fixture kinds)
VARIANTS: dict[str, tuple[Conversations, tuple[str, ...]]] = {
    "1b": (PART_CONVERSATIONS, ("user", "agent")),
    "8b": (STRING_CONVERSATIONS, ("user", "agent")),
    "11b-vision": (PART_CONVERSATIONS, ("user", "agent", "image")),
}

SPECIAL_TOKENS = {
    "bos_token": "<|begin_of_text|>",
    "eos_token": "<|eot_id|>",
}


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def compile_template(source: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[jinja2.ext.loopcontrols],
    )
    env.globals["raise_exception"] = _raise_exception
    return env.from_string(source)


def render(variant: str, kind: str) -> str:
    conversations, _ = VARIANTS[variant]
    template = compile_template((HERE / f"{variant}.chat_template.jinja").read_text())
    return template.render(
        messages=conversations[kind],
        add_generation_prompt=False,
        **SPECIAL_TOKENS,
    )


def main(argv: list[str]) -> int:
    check = "--check" in argv
    mismatches = 0
    for variant, (_, kinds) in VARIANTS.items():
        for kind in kinds:
            path = HERE / f"{variant}.{kind}.txt"
            text = render(variant, kind)
            if check:
                if not path.exists() or path.read_text() != text:
                    print(f"differs: {path.name}")
                    mismatches += 1
            else:
                path.write_text(text)
                print(f"wrote {path.name} ({len(text)} chars)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
