"""Llama Guard 3 prompts against the published templates, and the parser on good and bad answers."""

import math
from pathlib import Path

import pytest

from herd.providers.shields.categories import Variant
from herd.providers.shields.config import LlamaGuardShield, guess_variant
from herd.providers.shields.llama_guard import (
    GuardOutputError,
    build_prompt,
    completion_prompt,
    parse,
    unsafe_probability,
)
from herd.providers.shields.verdict import Turn

FIXTURES = Path(__file__).parent / "data" / "shields" / "llama_guard"
QUESTION = "How do I kill a Python process that hangs?"
ANSWER = "Run kill -9 with its PID."


@pytest.mark.parametrize("variant", ["1b", "8b", "11b-vision"])
def test_prompt_of_a_user_message_is_the_published_one(variant: Variant) -> None:
    assert build_prompt(variant, [Turn("user", QUESTION)]) == (FIXTURES / f"{variant}.user.txt").read_text()


@pytest.mark.parametrize("variant", ["1b", "8b", "11b-vision"])
def test_prompt_of_a_reply_judges_the_agent(variant: Variant) -> None:
    turns = [Turn("user", QUESTION), Turn("assistant", ANSWER)]
    assert build_prompt(variant, turns) == (FIXTURES / f"{variant}.agent.txt").read_text()


def test_vision_prompt_puts_the_image_token_first() -> None:
    prompt = build_prompt("11b-vision", [Turn("user", "Is this safe to eat?", (b"png",))])
    assert prompt == (FIXTURES / "11b-vision.image.txt").read_text()
    # The text variants never get an image token, images or not.
    assert "<|image|>" not in build_prompt("1b", [Turn("user", "Is this safe to eat?", (b"png",))])


def test_only_the_8b_prompt_offers_s14() -> None:
    assert "S14: Code Interpreter Abuse." in build_prompt("8b", [Turn("user", "hi")])
    assert "S14" not in build_prompt("1b", [Turn("user", "hi")])
    assert "S14" not in build_prompt("11b-vision", [Turn("user", "hi")])


def test_excluded_categories_leave_the_prompt_and_codes_keep_their_numbers() -> None:
    prompt = build_prompt("1b", [Turn("user", "hi")], excluded=["S6", "S7"])
    assert "S6:" not in prompt and "S7:" not in prompt
    assert "S5: Defamation.\nS8: Intellectual Property." in prompt


def test_completion_prompt_leaves_the_begin_token_to_the_backend() -> None:
    prompt = completion_prompt(build_prompt("8b", [Turn("user", "hi")]))
    assert prompt.startswith("<|start_header_id|>user<|end_header_id|>")


def test_variant_is_read_from_the_model_id_or_must_be_given() -> None:
    assert guess_variant("ollama/llama-guard3:1b") == "1b"
    assert guess_variant("herd/Llama-Guard-3-8B-Q4_K_M") == "8b"
    assert guess_variant("meta-llama/Llama-Guard-3-11B-Vision") == "11b-vision"
    with pytest.raises(ValueError, match="set `variant`"):
        LlamaGuardShield(id="g", model="herd/my-guard")
    with pytest.raises(ValueError, match="S14"):
        LlamaGuardShield(id="g", model="ollama/llama-guard3:1b", excluded_categories=["S14"])


@pytest.mark.parametrize(
    ("text", "unsafe", "codes"),
    [
        ("safe", False, ()),
        ("\n\nsafe", False, ()),
        ("safe\n", False, ()),
        ("unsafe\nS1", True, ("S1",)),
        ("\n\nunsafe\nS10,S1", True, ("S10", "S1")),
        ("unsafe\nS2, S2", True, ("S2",)),
    ],
)
def test_parser_reads_well_formed_answers(text: str, unsafe: bool, codes: tuple[str, ...]) -> None:
    answer = parse(text, "1b")
    assert answer.unsafe is unsafe and answer.codes == codes


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Safe",
        "safe\nS1",
        "unsafe",
        "unsafe\n",
        "unsafe\nS14",
        "unsafe\nS1, violence",
        "I think it is safe",
        "unsafe\nS1\nS2",
    ],
)
def test_parser_rejects_anything_else(text: str) -> None:
    with pytest.raises(GuardOutputError):
        parse(text, "1b")


def test_parser_knows_each_variants_categories() -> None:
    assert parse("unsafe\nS14", "8b").codes == ("S14",)
    with pytest.raises(GuardOutputError, match="S6"):
        parse("unsafe\nS6", "1b", excluded=["S6"])


def test_probability_from_the_first_non_blank_tokens_alternatives() -> None:
    chat_style = {
        "content": [
            {"token": "\n\n", "logprob": -0.01, "top_logprobs": [{"token": "\n\n", "logprob": -0.01}]},
            {
                "token": "safe",
                "logprob": math.log(0.9),
                "top_logprobs": [
                    {"token": "safe", "logprob": math.log(0.9)},
                    {"token": "unsafe", "logprob": math.log(0.1)},
                ],
            },
        ]
    }
    assert unsafe_probability(chat_style) == pytest.approx(0.1)
    legacy = {"tokens": ["unsafe"], "top_logprobs": [{"unsafe": math.log(0.6), "safe": math.log(0.2)}]}
    assert unsafe_probability(legacy) == pytest.approx(0.75)
    only_chosen = {"content": [{"token": "safe", "logprob": math.log(0.8), "top_logprobs": []}]}
    assert unsafe_probability(only_chosen) == pytest.approx(0.2)
    assert unsafe_probability(None) is None
    assert unsafe_probability({"content": [{"token": "Hello", "logprob": -0.1, "top_logprobs": []}]}) is None


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.txt")))
def test_fixtures_are_the_saved_chat_templates_rendered(fixture: str) -> None:
    """The fixtures come from the published chat templates beside them, rendered as transformers would."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_fixtures", FIXTURES / "render_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    variant, kind, _ = fixture.split(".")
    assert module.render(variant, kind) == (FIXTURES / fixture).read_text()
