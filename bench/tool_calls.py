"""Tool-calling benchmark: exact call accuracy of the default model through Herd, tool-call normalisation off vs on.

Each case of ``bench/tool_cases.py`` (single calls, parallel calls, nested arguments,
requests that need no tool) goes to a real ``herd run`` server through the OpenAI SDK:
non-streaming, ``tool_choice="auto"``, temperature 0, a fixed seed. The server runs
once with the embedded provider's ``normalise_tool_calls`` off and once on.

    .venv/bin/python bench/tool_calls.py [--mode both|on|off] [--limit N] [--only s01,p03] [--out result.json]

Scoring:
- a tool case is right iff the multiset of (function name, arguments) in
  ``message.tool_calls`` equals the expected one: order-free, but a duplicated call
  counts as wrong. Arguments are compared after JSON parsing, exactly, with three
  allowances: surrounding whitespace of strings is ignored (case is not), numbers
  compare by value (2 == 2.0), and an argument equal to its schema's declared
  ``default`` counts as omitted. Lists compare in order; arguments that fail to
  parse as a JSON object make the call wrong;
- a no-tool case is right iff no tool call comes back and the reply has text that is
  not itself a call written out: to a declared tool (``{"name": "get_weather", ...}``
  left as text), or JSON calling any function at all (``[{"name": "multiply", ...}]``
  for "what is 17 times 23?"): that is no answer either.

Target (issue): accuracy with normalisation on >= 0.90, and >= 25 points above off.
"""

import argparse
import json
import os
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import openai

# Run as a script, this folder is on sys.path; the cases and the launcher are plain modules beside it.
from launch import Launched
from tool_cases import CASES, Case

from herd.distribution.catalog import DEFAULT_CHAT_MODEL, get_model
from herd.distribution.templates import EMBEDDED_TYPE, embedded
from herd.distribution.weights import prepare

SEED = 7
CATEGORIES = ("single", "parallel", "nested", "no_tool")
# Signs that a reply naming a declared tool is a call written as text rather than prose.
TEXT_CALL_MARKS = ("<tool_call>", "```", '"name"', "<|python_tag|>", "<function", "[TOOL_CALLS]")


# -- server ------------------------------------------------------------------


class Server(Launched):
    """The embedded distribution with normalisation on or off, in its own HERD_HOME linked to the joined weights."""

    def __init__(self, model_id: str, normalise: bool, models_dir: Path) -> None:
        home = Path(tempfile.mkdtemp(prefix=f"herd-toolbench-{'on' if normalise else 'off'}-"))
        (home / "models").symlink_to(models_dir, target_is_directory=True)
        config = embedded(chat_model=model_id)
        provider = next(p for p in config["providers"]["inference"] if p["provider_type"] == EMBEDDED_TYPE)["config"]
        provider["preload"] = [model_id]  # the embedder is never used here
        provider["normalise_tool_calls"] = normalise
        super().__init__(config, home)
        self.wait_loaded(model_id, timeout=240)


# -- scoring -----------------------------------------------------------------


def normalised(value: Any, schema: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        out = {}
        for key, item in value.items():
            sub = props.get(key) or {}
            if "default" in sub and normalised(item, sub) == normalised(sub["default"], sub):
                continue
            out[key] = normalised(item, sub)
        return out
    if isinstance(value, list):
        return [normalised(item, schema.get("items") or {}) for item in value]
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def canonical(name: str, arguments: Any, case: Case) -> str:
    schemas = {t["function"]["name"]: t["function"].get("parameters") or {} for t in case.tool_dicts()}
    return json.dumps([name, normalised(arguments, schemas.get(name, {}))], sort_keys=True, ensure_ascii=False)


@dataclass
class Outcome:
    case: str
    category: str
    right: bool
    cause: str
    seconds: float
    content: str | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    expected: list[Any] = field(default_factory=list)


def parsed_calls(message: Any) -> list[dict[str, Any]]:
    calls = []
    for call in message.tool_calls or []:
        try:
            arguments: Any = json.loads(call.function.arguments or "{}")
        except ValueError:
            arguments = {"<unparsed>": call.function.arguments}
        calls.append({"name": call.function.name, "arguments": arguments})
    return calls


def _looks_like_call(text: str, case: Case) -> bool:
    """A call written out as the reply: to a declared tool, or JSON calling any function (no answer either way)."""
    named = any(name in text for name in case.tools)
    if named and (any(mark in text for mark in TEXT_CALL_MARKS) or any(f"{n}(" in text for n in case.tools)):
        return True
    body = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        found = json.loads(body)
    except ValueError:
        return False
    items = found if isinstance(found, list) else [found]
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def judge(case: Case, content: str | None, calls: list[dict[str, Any]]) -> tuple[bool, str]:
    """(right, cause of a miss) for one reply."""
    text = (content or "").strip()
    if not case.expected:
        if calls:
            return False, "called a tool when none was needed"
        if _looks_like_call(text, case):
            return False, "reply is a call written as text"
        return (True, "") if text else (False, "empty reply")
    if not calls:
        if _looks_like_call(text, case):
            return False, "call written as text, not read into tool_calls"
        return False, "answered in text, no call" if text else "empty reply"
    if any(not isinstance(c["arguments"], dict) or "<unparsed>" in c["arguments"] for c in calls):
        return False, "arguments not a JSON object"
    got = Counter(canonical(c["name"], c["arguments"], case) for c in calls)
    want = Counter(canonical(name, args, case) for name, args in case.expected)
    if got == want:
        return True, ""
    names_got, names_want = Counter(c["name"] for c in calls), Counter(n for n, _ in case.expected)
    if names_got == names_want:
        return False, "wrong arguments"
    if len(calls) < len(case.expected) and not names_got - names_want:
        return False, "missing call(s)"
    if len(calls) > len(case.expected) and not names_want - names_got:
        return False, "extra call(s)"
    return False, "wrong function(s)"


def run_case(client: openai.OpenAI, model: str, case: Case, max_tokens: int) -> Outcome:
    started = time.perf_counter()
    expected = [{"name": n, "arguments": a} for n, a in case.expected]
    try:
        response = client.chat.completions.create(
            model=model,
            messages=case.messages,  # type: ignore[arg-type]  # plain dicts in the SDK's shape
            tools=case.tool_dicts(),  # type: ignore[arg-type]
            tool_choice="auto",
            temperature=0,
            seed=SEED,
            max_tokens=max_tokens,
        )
    except openai.APIError as exc:
        seconds = time.perf_counter() - started
        return Outcome(case.id, case.category, False, "request failed", seconds, str(exc), [], expected)
    seconds = time.perf_counter() - started
    message = response.choices[0].message
    calls = parsed_calls(message)
    right, cause = judge(case, message.content, calls)
    return Outcome(case.id, case.category, right, cause, seconds, message.content, calls, expected)


# -- runs and report -----------------------------------------------------------


def run_mode(normalise: bool, cases: list[Case], args: argparse.Namespace, models_dir: Path) -> list[Outcome]:
    mode = "on" if normalise else "off"
    started = time.perf_counter()
    server = Server(args.model, normalise, models_dir)
    print(f"[{mode}] server up in {time.perf_counter() - started:.1f} s at {server.url}", flush=True)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", timeout=600, max_retries=0)
    outcomes = []
    try:
        for case in cases:
            outcome = run_case(client, f"herd/{args.model}", case, args.max_tokens)
            outcomes.append(outcome)
            mark = "ok " if outcome.right else "MISS"
            print(f"[{mode}] {case.id} {mark} {outcome.seconds:5.1f} s {outcome.cause}", flush=True)
    finally:
        server.stop()
    return outcomes


def accuracy(outcomes: list[Outcome], category: str | None = None) -> tuple[float, int]:
    chosen = [o for o in outcomes if category in (None, o.category)]
    return (sum(o.right for o in chosen) / len(chosen) if chosen else float("nan")), len(chosen)


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    return {
        "accuracy": accuracy(outcomes)[0],
        "by_category": {c: accuracy(outcomes, c)[0] for c in CATEGORIES if accuracy(outcomes, c)[1]},
        "seconds_per_case": sum(o.seconds for o in outcomes) / len(outcomes),
        "results": [asdict(o) for o in outcomes],
    }


def print_table(runs: dict[str, list[Outcome]]) -> None:
    modes = list(runs)
    print(f"\n{'category':12}{'cases':>7}" + "".join(f"{m:>8}" for m in modes))
    for category in (*CATEGORIES, None):
        n = accuracy(next(iter(runs.values())), category)[1]
        if n:
            cells = "".join(f"{accuracy(runs[m], category)[0]:8.2f}" for m in modes)
            print(f"{category or 'overall':12}{n:7}{cells}")
    times = ", ".join(f"{m} {sum(o.seconds for o in runs[m]) / len(runs[m]):.1f} s" for m in modes)
    print(f"time per case: {times}")
    if {"on", "off"} <= set(runs):
        on, off = accuracy(runs["on"])[0], accuracy(runs["off"])[0]
        met = on >= 0.9 and (on - off) * 100 >= 25
        print(
            f"on - off: {(on - off) * 100:+.1f} points; target (on >= 0.90, >= 25 points above off): "
            + ("met" if met else "NOT met")
        )


def print_misses(mode: str, outcomes: list[Outcome]) -> None:
    by_cause: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if not o.right:
            by_cause[o.cause].append(o)
    if not by_cause:
        return
    print(f"\nmisses with normalisation {mode}, by cause:")
    for cause, misses in sorted(by_cause.items(), key=lambda kv: -len(kv[1])):
        print(f"  {cause} ({len(misses)}):")
        for o in misses:
            got = json.dumps(o.calls, ensure_ascii=False) if o.calls else repr((o.content or "")[:160])
            print(f"    {o.case}: got {got}")
            if o.expected:
                print(f"    {'':{len(o.case)}}  want {json.dumps(o.expected, ensure_ascii=False)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_CHAT_MODEL)
    parser.add_argument("--mode", choices=("both", "on", "off"), default="both")
    parser.add_argument("--limit", type=int, help="only the first N cases")
    parser.add_argument("--only", help="comma-separated case ids, e.g. s01,p03")
    parser.add_argument("--max-tokens", type=int, default=320)
    parser.add_argument("--out", type=Path, help="write the figures and every reply as JSON here")
    args = parser.parse_args()

    cases = [c for c in CASES if not args.only or c.id in args.only.split(",")][: args.limit]
    models_dir = prepare(get_model(args.model)).parent  # joins split weights once, in the real HERD_HOME
    modes = {"both": [False, True], "off": [False], "on": [True]}[args.mode]
    print(f"model {args.model}; {len(cases)} cases; {os.cpu_count()} cores; seed {SEED}")
    runs = {("on" if flag else "off"): run_mode(flag, cases, args, models_dir) for flag in modes}
    print_table(runs)
    for mode, outcomes in runs.items():
        print_misses(mode, outcomes)
    if args.out:
        result = {"model": args.model, "cases": len(cases), "modes": {m: summary(o) for m, o in runs.items()}}
        if {"on", "off"} <= set(runs):
            result["difference_points"] = (result["modes"]["on"]["accuracy"] - result["modes"]["off"]["accuracy"]) * 100
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
