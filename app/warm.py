"""Fills the dashboard's caches in the background while no page is running, so that a
first visit to a page, layer or run pair reads tables that are already computed (a cold
Compare page or a layer's first visit takes 1-2.5 s on the project's 2-core machine).

One worker thread per server process runs the steps that page runs ask for (see `steps`),
one at a time, each only after no script has run for `quiet_s` seconds: a user's change
never waits behind more than the one step that was running when it came. A step that
fails is dropped silently: the page that needs it computes it and shows its error. Set
SNNR_WARM_UP=0 to switch it off (the tests do, so that AppTest measures what it runs)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from itertools import permutations
from pathlib import Path

from analysis.tables import AnalysisSettings

THREAD_NAME = "snnr-warm-up"
log = logging.getLogger(__name__)

Step = Callable[[], object]


class Warmer:
    """A queue of steps run by one daemon thread while the app is idle: no script running
    and none ended within quiet_s seconds (`clock`: seconds, monotonic)."""

    def __init__(self, quiet_s: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.quiet_s = quiet_s
        self.clock = clock
        self._lock = threading.Condition()
        self._running = 0
        self._last_end = clock()
        self._steps: deque[Step] = deque()
        self._seen: set[Hashable] = set()
        self._thread: threading.Thread | None = None

    @contextmanager
    def script_run(self) -> Iterator[None]:
        """Around one script run: the worker waits meanwhile and for quiet_s after it."""
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._last_end = self.clock()
                self._lock.notify_all()

    def idle_in(self) -> float | None:
        """Seconds until the app counts as idle (0: now), None while a script runs."""
        with self._lock:
            if self._running:
                return None
            return max(0.0, self._last_end + self.quiet_s - self.clock())

    def add(self, key: Hashable, steps: list[Step]) -> bool:
        """Queue `steps` once per key (a key already added is ignored); False if ignored."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            self._steps.extend(steps)
            self._lock.notify_all()
            return True

    def pending(self) -> int:
        with self._lock:
            return len(self._steps)

    def run_one(self) -> bool:
        """Run the next step if the app is idle now; False when there was none or it is not
        idle. A failing step is logged at debug level and dropped."""
        with self._lock:
            if not self._steps or self.idle_in() != 0:
                return False
            step = self._steps.popleft()
        try:
            step()
        except Exception as exc:  # the page that needs it computes it again and shows why it fails
            log.debug("warm-up step failed: %s", exc)
        return True

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._steps:
                    self._lock.wait()
                wait = self.idle_in()
            if wait is None or wait > 0:
                time.sleep(min(wait if wait else self.quiet_s, self.quiet_s) + 0.01)
                continue
            self.run_one()

    def start(self) -> None:
        """Start the worker thread (once)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=THREAD_NAME, daemon=True)
                self._thread.start()


def enabled() -> bool:
    return os.environ.get("SNNR_WARM_UP", "1") != "0"


def _runs(available: dict[str, Path], first: str | None, second: str | None, max_runs: int) -> list[Callable]:
    """Loaders of the runs, the sidebar's first and second run first; at most max_runs."""
    from app import runs as R

    names = [n for n in (first, second) if n in available]
    names += [n for n in available if n not in names]

    def run(name: str):
        loaded = R.load(available[name])
        loaded.name = name
        return loaded

    return [lambda n=n: run(n) for n in names[:max_runs]]


def steps(available: dict[str, Path], first: str | None, second: str | None, t: int | None,
          settings: AnalysisSettings, max_runs: int = 6) -> list[Step]:
    """What the pages compute on their first visit under these rules, most likely next first,
    one cached call a step (so that a user's change waits for at most one): each run's
    summary and layer table (Overview), per layer its channel table and A-D picks (Spike
    features, Membrane) and the ghosts of spatial layers at timestep t (Spike features,
    Ghosts; t None: the run's middle timestep), then per ordered pair of runs recorded on
    the same samples Table 1, the replicate, pattern and QE tables and the paired comparison
    (Compare). `first`/`second` (the sidebar's runs) come first; at most max_runs runs."""
    from app import runs as R

    runs = _runs(available, first, second, max_runs)
    plan: list[Step] = list(runs)
    for run in runs:
        plan += [lambda run=run: R.cached_summary(run(), settings), lambda run=run: R.cached_layer_table(run(), settings)]
    for run in runs:
        plan += [lambda run=run: [R.cached_channel_table(run(), i, settings) for i in _layers(run())],
                 lambda run=run: [R.cached_pick_patterns(run(), i, settings) for i in _layers(run(), spatial=True)]]
        plan += ghost_steps(run, t, settings)
    for a, b in permutations(runs, 2):
        for call in (lambda a, b: R.cached_table1([a, b], settings), lambda a, b: R.cached_replicates([a, b], settings),
                     lambda a, b: R.cached_compare_tables(a, b, settings), lambda a, b: R.cached_paired(a, b, settings)):
            plan.append(lambda a=a, b=b, call=call: _if_comparable(call, a(), b()))
    return plan


def _layers(run, spatial: bool = False) -> list[int]:
    """The run's layer indices (spatial: only those with maps of at least 3 x 3)."""
    return [l.info.index for l in run.layers if not spatial or min(l.info.shape[1:]) >= 3]


def ghost_steps(run: Callable, t: int | None, settings: AnalysisSettings) -> list[Step]:
    """The step that computes the ghosts of each spatial layer of run() (a loader) at
    timestep t (None: the middle one)."""
    from app import runs as R

    def ghosts() -> None:
        loaded = run()
        step = loaded.T // 2 if t is None else min(max(t, 0), loaded.T - 1)
        for i in _layers(loaded, spatial=True):
            R.cached_ghosts(loaded, i, step, settings.ghost)
    return [ghosts]


def _if_comparable(call: Callable, a, b) -> None:
    from app import ui

    if ui.incompatibility(a, b) is None:
        call(a, b)


WARMER = Warmer()


def after_run() -> None:
    """After a page has run: queue what the pages will need under this session's rules and
    runs (once per rules and set of runs), and the ghosts at its timestep (once per
    timestep); start the worker. Does nothing when switched off."""
    import streamlit as st

    if not enabled() or not st.runtime.exists():
        return

    from app import runs as R
    from app import ui

    state = st.session_state
    available = R.available_runs()
    t = state.get("t") if isinstance(state.get("t"), int) else None
    settings = ui.current_settings()
    known = tuple((n, str(p)) for n, p in available.items())
    added = WARMER.add(("tables", settings, known), steps(available, state.get("run_a"), state.get("run_b"), t, settings))
    added |= WARMER.add(("ghosts", settings.ghost, known, t),
                        [step for run in _runs(available, state.get("run_a"), state.get("run_b"), 6)
                         for step in ghost_steps(run, t, settings)])
    if added:
        WARMER.start()


class _QuietThread(logging.Filter):
    """Drops Streamlit's 'missing ScriptRunContext' warning for the warm-up thread, whose
    cached calls run outside any script on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return threading.current_thread().name != THREAD_NAME


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_QuietThread())
