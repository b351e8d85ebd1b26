"""Tiny random-initialised Llama, Mllama and Llama Guard folders, built offline for tests and the bench.

Nothing comes from a hub: a byte-level BPE tokenizer is trained on a few sentences,
given Llama 3's special tokens and a Llama-3.2-style chat template (tools included),
and saved with a few-layer model built from its config. The vision folder has the real
``MllamaImageProcessor`` and ``MllamaProcessor``. Random weights write garbage: callers
assert on mechanics.
"""

from pathlib import Path
from typing import Any

SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|python_tag|>",
    "<|image|>",
    "<|finetune_right_pad_id|>",
]
_CORPUS = [
    "The weather in Seoul is sunny today, and tomorrow it will rain.",
    "Call the function get_weather with the city name as its argument.",
    '{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}',
    "User: How do I kill a Python process that hangs? Agent: Run kill -9 with its PID.",
    "safe unsafe S1 S2 S3 S4 S5 S6 S7 S8 S9 S10 S11 S12 S13 S14 0123456789 true false null",
    "Task: Check if there is unsafe content in messages according our safety policy.",
]
# Llama 3.2's chat format, tools included, written for these tests (not Meta's file).
CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if messages[0].role == 'system' %}{%- set system = messages[0].content %}{%- set rest = messages[1:] %}"
    "{%- else %}{%- set system = '' %}{%- set rest = messages %}{%- endif %}"
    "<|start_header_id|>system<|end_header_id|>\n\n"
    "{%- if tools %}Environment: ipython\n{% endif %}"
    "Cutting Knowledge Date: December 2023\n\n{{ system }}"
    "{%- if tools %}\n\nGiven the following functions, respond with a JSON for a function call with its proper "
    'arguments in the format {"name": function name, "parameters": dictionary of argument name and its value}.\n\n'
    "{%- for t in tools %}{{ t | tojson }}\n\n{% endfor %}{%- endif %}<|eot_id|>"
    "{%- for m in rest %}"
    "{%- if m.role == 'assistant' and m.tool_calls %}<|start_header_id|>assistant<|end_header_id|>\n\n"
    '{%- for c in m.tool_calls %}{"name": "{{ c.function.name }}", "parameters": {{ c.function.arguments }}}'
    "{%- endfor %}<|eot_id|>"
    "{%- elif m.role == 'tool' %}<|start_header_id|>ipython<|end_header_id|>\n\n{{ m.content }}<|eot_id|>"
    "{%- else %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
    "{%- if m.content is string %}{{ m.content }}{%- else %}{%- for p in m.content %}"
    "{%- if p.type == 'image' %}<|image|>{%- elif p.type == 'text' %}{{ p.text }}{%- endif %}"
    "{%- endfor %}{%- endif %}<|eot_id|>"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{%- endif %}"
)


def tokenizer(vocab_size: int = 400) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    core.train_from_iterator(_CORPUS * 4, trainer)
    from tokenizers import processors

    core.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", core.token_to_id("<|begin_of_text|>"))]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|finetune_right_pad_id|>",
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def _text_config(tok: Any, layers: int = 2) -> dict[str, Any]:
    return {
        "vocab_size": len(tok),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }


def text_model(path: Path, seed: int = 0, layers: int = 2, hidden: int = 64) -> Path:
    """A few-layer LlamaForCausalLM with the tokenizer above, saved to ``path``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tok = tokenizer()
    config = LlamaConfig(**{**_text_config(tok, layers), "hidden_size": hidden, "intermediate_size": hidden * 2})
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def vision_model(path: Path, seed: int = 0) -> Path:
    """A tiny MllamaForConditionalGeneration (cross-attention at text layer 1) with the real processor classes."""
    import torch
    from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessor, MllamaProcessor

    torch.manual_seed(seed)
    tok = tokenizer()
    text = {**_text_config(tok, layers=3), "cross_attention_layers": [1]}
    vision = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_global_layers": 1,
        "attention_heads": 2,
        "intermediate_size": 64,
        "vision_output_dim": 64,  # hidden_size * (len(intermediate_layers_indices) + 1)
        "intermediate_layers_indices": [0],
        "image_size": 28,
        "patch_size": 14,
        "max_num_tiles": 2,
        "supported_aspect_ratios": [[1, 1], [1, 2], [2, 1]],
    }
    config = MllamaConfig(
        vision_config=vision, text_config=text, image_token_index=tok.convert_tokens_to_ids("<|image|>")
    )
    model = MllamaForConditionalGeneration(config)
    with torch.no_grad():  # the cross-attention gates start at 0 (tanh(0) = 0: images ignored); open them
        for name, param in model.named_parameters():
            if name.endswith(("cross_attn_attn_gate", "cross_attn_mlp_gate")):
                param.fill_(1.0)
    model.save_pretrained(path)
    images = MllamaImageProcessor(size={"height": 28, "width": 28}, max_image_tiles=2)
    MllamaProcessor(images, tok, chat_template=CHAT_TEMPLATE).save_pretrained(path)
    tok.save_pretrained(path)
    return path
