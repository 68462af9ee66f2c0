"""Requests that arrive together, done together: flat combining for the web process's threads.

A thread with an item to do joins a queue; if no batch is running, it becomes the leader: it takes what
waits (up to `most`, one item a key) and does them all in one call, hands each waiting thread its answer,
and steps down. Alone, an item is done at once, as if there were no queue; under a flood, the items that
came in while a batch ran go in the next one. No timer: nothing waits for company.

The public subscribe form records its requests this way (services/subscribe_requests.py `record_asks`):
one statement, one round trip and one commit for all the requests of a moment, where each request had
cost the database its own statement's fixed work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class _Slot(Generic[Item, Answer]):
    __slots__ = ("answer", "done", "error", "item")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.answer: Answer | None = None
        self.error: BaseException | None = None


class Combiner(Generic[Item, Answer]):
    """Calls `do(items)` (answers in the items' order) for the items that wait together; `key(item)` says
    which items may not share a call (their keys are equal), and `most` how many one call takes. A call
    that fails is made again for each of its items alone, so one bad item fails only its own request."""

    def __init__(
        self, do: Callable[[Sequence[Item]], Sequence[Answer]], key: Callable[[Item], Hashable], most: int = 64
    ) -> None:
        self._do = do
        self._key = key
        self._most = most
        self._changed = threading.Condition()
        self._waiting: list[_Slot[Item, Answer]] = []
        self._busy = False

    def __call__(self, item: Item) -> Answer:
        slot: _Slot[Item, Answer] = _Slot(item)
        with self._changed:
            self._waiting.append(slot)
        # A leader may take this item, or leave it for a later batch (its key already in the batch).
        while True:
            with self._changed:
                while self._busy and not slot.done:
                    self._changed.wait()
                if slot.done:
                    break
                self._busy = True
                batch = self._take()
            try:
                self._run(batch)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.answer  # type: ignore[return-value]  # set with done, unless error is

    def _take(self) -> list[_Slot[Item, Answer]]:
        """The waiting items for one call, oldest first, one a key; the rest wait on."""
        batch: list[_Slot[Item, Answer]] = []
        rest: list[_Slot[Item, Answer]] = []
        keys: set[Hashable] = set()
        for slot in self._waiting:
            key = self._key(slot.item)
            if len(batch) < self._most and key not in keys:
                batch.append(slot)
                keys.add(key)
            else:
                rest.append(slot)
        self._waiting = rest
        return batch

    def _run(self, batch: list[_Slot[Item, Answer]]) -> None:
        try:
            answers = self._do([slot.item for slot in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for slot in batch:
                    self._run([slot])
        except BaseException as exc:  # the leader's thread is stopping: its batch's threads hear it too
            for slot in batch:
                slot.error = exc
            raise
        else:
            for slot, answer in zip(batch, answers, strict=True):
                slot.answer = answer
        finally:
            for slot in batch:
                slot.done = True
