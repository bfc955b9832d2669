"""Answer within a deadline: a hop that cannot finish in time is given up, never waited on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

T = TypeVar("T")


class DeadlinePassed(Exception):
    """The work did not finish within its deadline (or no runner was free to start it)."""


class DeadlineRunner:
    """Run calls on a few threads and wait for each at most `seconds`.

    A hung database holds its thread until the call returns; the caller is answered at the
    deadline all the same. When every thread is busy a call waits for one, within the same
    deadline, and is never queued past it: behind hung calls it is answered at its deadline.
    """

    def __init__(self, seconds: float, threads: int = 8) -> None:
        self.seconds = seconds
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hop")
        self._free = threading.BoundedSemaphore(threads)

    def run(self, call: Callable[[], T]) -> T:
        """Return call()'s result, or raise DeadlinePassed; call()'s own exceptions pass through."""
        started = time.monotonic()
        if not self._free.acquire(timeout=self.seconds):
            raise DeadlinePassed("every runner stayed held by an unfinished call")
        try:
            future: Future[T] = self._pool.submit(call)
        except BaseException:
            self._free.release()
            raise
        future.add_done_callback(lambda _done: self._free.release())
        left = max(0.0, self.seconds - (time.monotonic() - started))
        try:
            return future.result(timeout=left)
        except FutureTimeout as exc:
            raise DeadlinePassed(f"no answer within {self.seconds} s") from exc

    def shutdown(self) -> None:
        """Stop taking calls; threads still held by a hung call are left to finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)
