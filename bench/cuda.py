"""Tokens/s of the transformers (CUDA) provider against plain `transformers` `generate`, at 1/8/32 streams.

    .venv-cuda/bin/python bench/cuda.py                 # a small random Llama built in a temp folder
    .venv-cuda/bin/python bench/cuda.py --model DIR     # a real one, e.g. Llama-3.2-1B-Instruct

Device auto: CUDA when torch sees a GPU, else CPU; the same command runs on both. At N
streams the provider gets N concurrent streamed requests (greedy, `max_tokens` each) and
`generate` one left-padded batch of the same N prompts; tok/s counts generated tokens of
all streams over the wall time. The provider stops a stream at its end token, so its
count is the tokens it really wrote; `generate` is held to `max_tokens` (min_new_tokens).
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPTS = [f"Tell me about the number {i} and why it matters." for i in range(64)]


def generate_rate(loaded: Any, prompts: list[str], max_tokens: int) -> float:
    import torch

    tok = loaded.tokenizer
    tok.padding_side = "left"
    texts = [
        tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    batch = tok(texts, add_special_tokens=False, return_tensors="pt", padding=True).to(loaded.device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(
            **batch,
            max_new_tokens=max_tokens,
            min_new_tokens=max_tokens,
            do_sample=False,
            pad_token_id=tok.pad_token_id,
        )
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return (out.shape[1] - batch["input_ids"].shape[1]) * len(prompts) / elapsed


async def provider_rate(impl: Any, model: str, prompts: list[str], max_tokens: int) -> float:
    from llama_stack_api import OpenAIChatCompletionRequestWithExtraBody

    async def one(prompt: str) -> int:
        request = OpenAIChatCompletionRequestWithExtraBody(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=max_tokens,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        tokens = 0
        async for chunk in await impl.openai_chat_completion(request):
            if chunk.usage:
                tokens = chunk.usage.completion_tokens
        return tokens

    start = time.perf_counter()
    counts = await asyncio.gather(*(one(p) for p in prompts))
    return sum(counts) / (time.perf_counter() - start)


async def run(model_dir: Path, streams: list[int], max_tokens: int) -> None:
    from herd.providers.transformers import get_provider_impl
    from herd.providers.transformers.config import TransformersInferenceConfig

    config = TransformersInferenceConfig(
        models=[{"id": "bench", "path": str(model_dir)}], max_batch=max(streams), max_queue=max(streams)
    )
    impl = await get_provider_impl(config, {})
    impl.__provider_id__ = "bench"
    loaded = impl.models["bench"][0]
    print(f"model {model_dir} on {loaded.device} ({loaded.model.dtype}), {max_tokens} tokens per stream")
    await provider_rate(impl, "bench", PROMPTS[:2], 8)  # warm up both paths
    generate_rate(loaded, PROMPTS[:2], 8)
    print(f"{'streams':>7} {'provider tok/s':>15} {'generate tok/s':>15} {'ratio':>6}")
    for n in streams:
        prompts = PROMPTS[:n]
        ours = await provider_rate(impl, "bench", prompts, max_tokens)
        theirs = generate_rate(loaded, prompts, max_tokens)
        print(f"{n:>7} {ours:>15.1f} {theirs:>15.1f} {ours / theirs:>6.2f}")
    batcher = impl.models["bench"][1]
    print(
        f"batcher: {batcher.stats['prefills']} prefills, {batcher.stats['decode_steps']} decode steps, "
        f"widest batch {batcher.stats['widest']}"
    )
    await impl.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a local model folder (default: a small random Llama)")
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    if args.model:
        asyncio.run(run(args.model, args.streams, args.max_tokens))
        return
    from herd.providers.transformers import tiny

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = tiny.text_model(Path(tmp) / "bench", layers=4, hidden=256)
        asyncio.run(run(model_dir, args.streams, args.max_tokens))


if __name__ == "__main__":
    main()
