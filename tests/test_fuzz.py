"""schemathesis over the server's own OpenAPI schema: every operation, a few examples each.

The cases are generated per operation and sent one by one (no shrinking, no example
database), so the run is bounded; a 5xx, a timeout or a dropped connection is recorded
with its operation and the test fails with the whole list, once, at the end. The server
is a dedicated one: the vector stores, files and prompts the fuzzer creates stay there.
"""

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests

from herd.distribution import templates
from tests.conftest import TINY_MODEL, HerdServer

# Positive cases fit the schema (they reach the providers); negative ones break it on purpose.
EXAMPLES = {"positive": 5, "negative": 5}
REQUEST_TIMEOUT = 30.0
SHOWN = 20


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, label: str, mode: str, case: Any, response: Any) -> None:
        self.requests += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            body = response.text[:300].replace("\n", " ")
            self.failures.append(f"{label} ({mode}) -> {response.status_code} {body}\n    {case.as_curl_command()}")

    def summary(self) -> str:
        counts = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return f"{self.operations} operations, {self.requests} requests sent; statuses {counts}"


@pytest.fixture(scope="module")
def fuzz_server(herd_server_factory: Any) -> Iterator[HerdServer]:
    server = herd_server_factory(templates.embedded(chat_model=TINY_MODEL), "herd-fuzz")
    yield server
    server.stop()


@pytest.fixture
def hypothesis_home(tmp_path: Any) -> Iterator[None]:
    """Hypothesis keeps its files under ./.hypothesis unless told otherwise: here, a temp dir."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


def fuzz_operation(operation: Any, mode: str, base_url: str, session: requests.Session, tally: Tally) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    label = operation.label

    @settings(
        max_examples=EXAMPLES[mode],
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=GenerationMode(mode)))
    def send(case: Any) -> None:
        try:
            response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT)
        except requests.Timeout:
            tally.requests += 1
            tally.failures.append(f"{label} ({mode}) -> no answer within {REQUEST_TIMEOUT:.0f} s")
        except requests.RequestException as exc:  # dropped connection, cut body: the server broke off
            tally.requests += 1
            tally.failures.append(f"{label} ({mode}) -> {type(exc).__name__}: {exc}")
        else:
            tally.record(label, mode, case, response)

    # Some operations have nothing to break (no parameters, no body): no negative case exists.
    with contextlib.suppress(Unsatisfiable):
        send()


def test_every_operation_answers_without_5xx(fuzz_server: HerdServer, hypothesis_home: None) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json", timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, f"the schema lists only {len(operations)} operations"
    tally = Tally(operations=len(operations))
    started = time.monotonic()
    with requests.Session() as session:
        for operation in operations:
            for mode in EXAMPLES:
                fuzz_operation(operation, mode, fuzz_server.base_url, session, tally)
    elapsed = time.monotonic() - started
    print(f"\nfuzz: {tally.summary()} in {elapsed:.0f} s")

    alive = fuzz_server.process.poll() is None
    with httpx.Client(base_url=fuzz_server.base_url, timeout=10) as http:
        health = http.get("/v1/health").status_code if alive else None
    shown = "\n".join(tally.failures[:SHOWN])
    more = f"\n(and {len(tally.failures) - SHOWN} more)" if len(tally.failures) > SHOWN else ""
    assert not tally.failures and health == 200, (
        f"{tally.summary()}; server alive: {alive}, /v1/health: {health}\n{shown}{more}\n"
        f"server log:\n{fuzz_server.log_tail(30)}"
    )
