"""The embedded provider's model pool: admission bookkeeping that must never deadlock."""

import threading

from herd.providers.embedded.config import EmbeddedInferenceConfig
from herd.providers.embedded.pool import ModelPool

MODEL = "smollm2-135m-instruct"


def test_a_release_run_while_the_lock_is_held_does_not_deadlock() -> None:
    # A stream's release is also a weakref finalizer; garbage collection can run it on a
    # thread that holds the pool's lock, as it did once inside start_loading.
    pool = ModelPool(EmbeddedInferenceConfig(models=[MODEL]))
    release = pool.acquire(MODEL)

    def collect_inside_the_lock() -> None:
        with pool.lock:
            release()

    worker = threading.Thread(target=collect_inside_the_lock, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "release() deadlocked on the pool lock"
    assert pool.inflight[MODEL] == 0
    release()  # idempotent
    assert pool.inflight[MODEL] == 0


def test_a_models_load_time_counts_its_engine_being_built_too(monkeypatch) -> None:
    import time

    class SlowEngine:
        load_seconds = None

        def load(self) -> None:
            time.sleep(0.05)

    def build(_entry: object) -> SlowEngine:
        time.sleep(0.1)  # the engine's import, the weights found, their metadata read
        return SlowEngine()

    pool = ModelPool(EmbeddedInferenceConfig(models=[MODEL]))
    monkeypatch.setattr(pool, "_build", build)
    pool.start_loading(MODEL).result(timeout=5)
    assert pool.loaded()[MODEL]["load_seconds"] >= 0.15
    pool.shutdown()
