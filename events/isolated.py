"""Run a function on untrusted input in a worker process, with a time limit.

Two libraries the tool relies on fail badly on some damaged files (found by
tests/test_fuzz.py): the `aedat` decoder aborts its process, and the HDF5 library loops
forever reading a damaged attribute. Neither can be caught inside Python, and in the
dashboard either would take the server down for every visitor. So such work runs in a
worker process (one per purpose, started once with 'spawn' and reused): a crash or a hang
there becomes an answer, and the worker is started again for the next call.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

CRASHED, TIMED_OUT = "crashed", "timed out"


class Worker:
    """One reusable worker process; run() is thread-safe (calls queue one after another)."""

    def __init__(self):
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, fn: Callable, *args, timeout: float) -> tuple[str, Any]:
        """('ok', fn(*args)) from the worker, or (CRASHED | TIMED_OUT, None)."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            try:
                return "ok", self._pool.submit(fn, *args).result(timeout=timeout)
            except BrokenProcessPool:
                self._pool = None
                return CRASHED, None
            except FutureTimeout:
                self._kill()
                return TIMED_OUT, None

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()  # it is stuck in C code: only a kill ends it
        pool.shutdown(wait=False, cancel_futures=True)


_WORKERS: dict[str, Worker] = {}


def worker(purpose: str) -> Worker:
    """The worker process kept for `purpose` (e.g. 'aedat4', 'hdf5')."""
    return _WORKERS.setdefault(purpose, Worker())
