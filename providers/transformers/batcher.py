"""The batching engine: one thread per model that decodes every admitted request together.

Requests wait in a bounded queue (full: 503 at once). Each turn of the loop admits
what waits, up to ``max_batch`` sequences in decoding: text prompts that arrive
together are prefilled as one left-padded batch (a *cohort*), an image prompt as a
cohort of its own (its vision tensors do not pad against another's). Then every cohort
decodes one token per sequence in one forward pass over its KV cache, so a request
that arrives while others decode starts at the next turn instead of waiting for them
(dynamic batching, interleaved). A finished or cancelled sequence leaves its cohort
at once (``DynamicCache.batch_select_indices``), freeing its place for the queue.

Left padding: positions are counted over the attention mask, so a padded prompt
decodes as it would alone.
"""

import collections
import logging
import threading
from typing import Any

from herd.distribution.priority import at_base_priority
from herd.errors import EngineFailure, ServerBusy

from .decode import Job, advance, choose, token_logprobs
from .loader import Loaded

log = logging.getLogger("herd.transformers")


class Cohort:
    """Sequences prefilled together that share one batched KV cache."""

    def __init__(self, jobs: list[Job], loaded: Loaded) -> None:
        import torch

        self.jobs = jobs
        self.loaded = loaded
        device = loaded.device
        lengths = [j.prompt_tokens for j in jobs]
        width = max(lengths)
        pad = loaded.tokenizer.pad_token_id or 0
        ids = torch.full((len(jobs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(jobs), width), dtype=torch.long)
        for row, job in enumerate(jobs):
            ids[row, width - lengths[row] :] = job.inputs["input_ids"][0]
            mask[row, width - lengths[row] :] = 1
        self.mask = mask.to(device)
        self.cache: Any = None
        self.cross_mask: Any = None
        extra: dict[str, Any] = {}
        if jobs[0].has_images:  # always a cohort of one
            dtype = loaded.model.dtype
            extra = {k: v.to(device) for k, v in jobs[0].inputs.items() if k not in ("input_ids", "attention_mask")}
            extra["pixel_values"] = extra["pixel_values"].to(dtype)
            self.cross_mask = extra["cross_attention_mask"]
        self.first = self._forward(ids.to(device), extra)

    def _forward(self, ids: Any, extra: dict[str, Any]) -> Any:
        import torch
        from transformers import DynamicCache

        positions = (self.mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1] :]
        if self.cache is None:
            self.cache = DynamicCache(config=self.loaded.model.config)
        with torch.inference_mode():
            out = self.loaded.model(
                input_ids=ids,
                attention_mask=self.mask,
                position_ids=positions,
                past_key_values=self.cache,
                use_cache=True,
                logits_to_keep=1,
                **extra,
            )
        self.cache = out.past_key_values
        return out.logits[:, -1, :].float()

    def step(self, logits: Any) -> Any:
        """Choose each sequence's next token from ``logits``, drop the finished, and run the next forward."""
        import torch

        keep, nxt = [], []
        greedy = logits.argmax(-1).tolist()
        for row, job in enumerate(self.jobs):
            if job.cancelled.is_set():
                continue
            token = choose(job, logits[row], self.loaded, greedy[row])
            if token is not None and job.settings.top_logprobs is not None:
                token_logprobs(job, logits[row], token, self.loaded)
            advance(job, token, self.loaded)
            if job.finish_reason is None:
                keep.append(row)
                nxt.append(token)
        if len(keep) < len(self.jobs):
            self.jobs = [self.jobs[r] for r in keep]
            if not keep:
                return None
            index = torch.tensor(keep, device=self.mask.device)
            self.cache.batch_select_indices(index)
            self.mask = self.mask.index_select(0, index)
            if self.cross_mask is not None:
                self.cross_mask = self.cross_mask.index_select(0, index)
        self.mask = torch.cat([self.mask, self.mask.new_ones((len(keep), 1))], dim=1)
        extra = {}
        if self.cross_mask is not None:
            extra["cross_attention_mask"] = self.cross_mask[:, -1:]
        ids = torch.tensor(nxt, device=self.mask.device)[:, None]
        return self._forward(ids, extra)


class Batcher:
    def __init__(self, loaded: Loaded, max_batch: int, max_queue: int) -> None:
        self.loaded = loaded
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.waiting: collections.deque[Job] = collections.deque()
        self.cohorts: list[tuple[Cohort, Any]] = []
        self.wake = threading.Condition()
        self.closed = False
        self.inflight = 0  # submitted and not yet finished (waiting, prefilling or decoding)
        # What the loop did, for the tests and bench/cuda.py: forward passes, prefills, the widest batch.
        self.stats = {"decode_steps": 0, "prefills": 0, "widest": 0}
        self.thread = threading.Thread(target=self._run, name=f"herd-hf-{loaded.spec.id}", daemon=True)
        self.thread.start()

    @property
    def decoding(self) -> int:
        return sum(len(c.jobs) for c, _ in self.cohorts)

    def submit(self, job: Job) -> None:
        with self.wake:
            if self.inflight >= self.max_batch + self.max_queue:
                raise ServerBusy(
                    f"model '{self.loaded.spec.id}' is decoding {self.max_batch} sequences and {self.max_queue} "
                    "requests are queued; retry shortly (or raise `max_batch`/`max_queue` in the run config)"
                )
            self.inflight += 1
            self.waiting.append(job)
            self.wake.notify()

    def _retire(self, jobs: list[Job]) -> None:
        with self.wake:
            self.inflight -= len(jobs)

    def close(self) -> None:
        with self.wake:
            self.closed = True
            self.wake.notify()

    def _run(self) -> None:
        at_base_priority()  # this thread computes; it may have been started by the raised serving thread
        while True:
            with self.wake:
                while not self.closed and not self.waiting and not self.cohorts:
                    self.wake.wait()
                if self.closed:
                    return
                admitted = self._take()
            for group in admitted:
                self._start(group)
            self._turn()

    def _take(self) -> list[list[Job]]:
        free = self.max_batch - self.decoding
        text: list[Job] = []
        groups: list[list[Job]] = []
        while self.waiting and free > 0:
            job = self.waiting.popleft()
            if job.cancelled.is_set():
                self.inflight -= 1  # the lock is held by _run
                continue
            free -= 1
            if job.has_images:
                groups.append([job])
            else:
                text.append(job)
        return ([text] if text else []) + groups

    def _start(self, jobs: list[Job]) -> None:
        try:
            cohort = Cohort(jobs, self.loaded)
        except Exception as exc:  # a failed prefill fails its own requests, not the engine
            log.exception("prefill failed on %s", self.loaded.spec.id)
            for job in jobs:
                job.emit({"type": "error", "error": EngineFailure(f"model '{self.loaded.spec.id}' failed: {exc}")})
            self._retire(jobs)
            return
        self.stats["prefills"] += 1
        for job in jobs:
            job.emit({"type": "start"})
        self.cohorts.append((cohort, cohort.first))

    def _turn(self) -> None:
        alive = []
        for cohort, logits in self.cohorts:
            self.stats["widest"] = max(self.stats["widest"], len(cohort.jobs))
            self.stats["decode_steps"] += 1
            before = list(cohort.jobs)
            try:
                nxt = cohort.step(logits)
            except Exception as exc:
                log.exception("decoding failed on %s", self.loaded.spec.id)
                for job in cohort.jobs:
                    if job.finish_reason is None:
                        job.emit({"type": "error", "error": EngineFailure(f"generation failed mid-stream: {exc}")})
                self._retire(before)
                continue
            self._retire([job for job in before if job not in cohort.jobs] if nxt is not None else before)
            if nxt is not None:
                alive.append((cohort, nxt))
        self.cohorts = alive
