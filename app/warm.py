"""Fills the dashboard's caches in the background while no page is running, so that a
first visit to a page, layer or run pair reads tables that are already computed (a cold
Compare page or a layer's first visit takes 1-2.5 s on the project's 2-core machine).

After each page run, `after_run` queues a plan for the session's view (see `plans`); one
worker thread per server process runs its steps one at a time, the newest plan first, each
only after no script has run for `quiet_s` seconds: a user's change never waits behind more
than the one step (one cached call, about 0.7 s at most on the sample runs) that was
running when it came. A step that fails is dropped silently: the page that needs it
computes it and shows its error. Set SNNR_WARM_UP=0 to switch it off (the tests and
app.benchmark do, so that they measure what a page computes itself)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from analysis.tables import AnalysisSettings

THREAD_NAME = "snnr-warm-up"
log = logging.getLogger(__name__)

# a step returns None, or a list of further steps that then run first (e.g. one per layer)
Step = Callable[[], object]


class Warmer:
    """Plans of steps run by one daemon thread while the app is idle: no script running and
    none ended within quiet_s seconds (`clock`: seconds, monotonic). The newest plan runs
    first; at most max_plans wait, the oldest forgotten (it is planned again when its view
    comes back)."""

    def __init__(self, quiet_s: float = 1.0, clock: Callable[[], float] = time.monotonic, max_plans: int = 4,
                 alive: Callable[[Warmer], bool] = lambda warmer: True):
        self.quiet_s = quiet_s
        self.alive = alive  # the worker thread ends when this turns False
        self.clock = clock
        self.max_plans = max_plans
        self._lock = threading.Condition()
        self._running = 0
        self._last_end = clock()
        self._plans: deque[tuple[Hashable, deque[Step]]] = deque()
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
        """Queue a plan once per key, ahead of older plans (a key already added is ignored);
        False if ignored."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            self._plans.appendleft((key, deque(steps)))
            while len(self._plans) > self.max_plans:
                self._seen.discard(self._plans.pop()[0])
            self._lock.notify_all()
            return True

    def pending(self) -> int:
        """Steps waiting (not counting those that running steps will add)."""
        with self._lock:
            return sum(len(steps) for _, steps in self._plans)

    def _next(self) -> Step | None:
        while self._plans and not self._plans[0][1]:
            self._plans.popleft()
        return self._plans[0][1].popleft() if self._plans else None

    def run_one(self) -> bool:
        """Run the next step if the app is idle now; False when there was none or it is not
        idle. A failing step is logged at debug level and dropped."""
        with self._lock:
            if self.idle_in() != 0:
                return False
            step = self._next()
            if step is None:
                return False
            plan = self._plans[0][1]
        try:
            more = step()
        except Exception as exc:  # the page that needs it computes it again and shows why it fails
            log.debug("warm-up step failed: %s", exc)
            return True
        if isinstance(more, list) and more:
            with self._lock:
                plan.extendleft(reversed(more))
        return True

    def _work(self) -> None:
        while self.alive(self):
            with self._lock:
                while not self.pending():
                    self._lock.wait(timeout=5.0)
                    if not self.alive(self):
                        return
                wait = self.idle_in()
            if wait is None or wait > 0:
                time.sleep(min(wait or self.quiet_s, self.quiet_s) + 0.01)
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


def _loader(available: dict[str, Path], name: str) -> Callable:
    """run() -> the run `name`, loaded (cached) and named as the pages name it."""
    from app import runs as R

    def run():
        loaded = R.load(available[name])
        loaded.name = name
        return loaded
    return run


def _timestep(run, t: int | None) -> int:
    """The timestep a page shows for the session's t (app.state.clamp: the middle one when unset or out of range)."""
    return t if isinstance(t, int) and 0 <= t < run.T else run.T // 2


def _per_layer(run: Callable, call: Callable, spatial: bool = False) -> Step:
    """A step that adds one step per layer of run() (spatial: only maps of at least 3 x 3): call(run(), layer index)."""
    def expand() -> list[Step]:
        layers = [l.info.index for l in run().layers if not spatial or min(l.info.shape[1:]) >= 3]
        return [lambda i=i: call(run(), i) for i in layers]
    return expand


def steps(available: dict[str, Path], first: str | None, second: str | None, settings: AnalysisSettings,
          max_runs: int = 6) -> list[Step]:
    """What the pages compute on their first visit under these rules (the ghosts aside: see
    ghost_steps), most likely next first, one cached call a step: the summary and layer
    table of the sidebar's runs and of the others, up to max_runs runs (Overview); for the
    sidebar's two runs only (the caches hold a limited number of layers) per layer the
    channel table and A-D picks (Spike features, Membrane); then for the two runs in both
    orders, when recorded on the same samples, Table 1, the replicate, pattern and QE tables
    and the paired comparison (Compare)."""
    from app import runs as R

    names = [n for n in dict.fromkeys((first, second)) if n in available]
    names += [n for n in available if n not in names]
    names = names[:max_runs]
    runs = {n: _loader(available, n) for n in names}
    opened = [runs[n] for n in names if n in (first, second)]
    plan: list[Step] = list(runs.values())
    for run in runs.values():
        plan += [lambda run=run: R.cached_summary(run(), settings), lambda run=run: R.cached_layer_table(run(), settings)]
    for run in opened:
        plan += [_per_layer(run, lambda r, i: R.cached_channel_table(r, i, settings)),
                 _per_layer(run, lambda r, i: R.cached_pick_patterns(r, i, settings))]
    for a, b in ((opened[0], opened[1]), (opened[1], opened[0])) if len(opened) == 2 else ():
        for call in (lambda a, b: R.cached_table1([a, b], settings), lambda a, b: R.cached_replicates([a, b], settings),
                     lambda a, b: R.cached_compare_tables(a, b, settings), lambda a, b: R.cached_paired(a, b, settings)):
            plan.append(lambda a=a, b=b, call=call: _if_comparable(call, a(), b()))
    return plan


def ghost_steps(run: Callable, t: int | None, settings: AnalysisSettings) -> list[Step]:
    """The ghosts of each spatial layer of run() (a loader) at the timestep a page shows for t."""
    from app import runs as R

    return [_per_layer(run, lambda r, i: R.cached_ghosts(r, i, _timestep(r, t), settings.ghost), spatial=True)]


def _if_comparable(call: Callable, a, b) -> None:
    from app import ui

    if ui.incompatibility(a, b) is None:
        call(a, b)


def plans(state: Mapping, available: dict[str, Path], settings: AnalysisSettings) -> list[tuple[Hashable, list[Step]]]:
    """(key, steps) of the plans for a session's view (`state`: its session state): all the
    tables once per rules, runs known and sidebar runs; the ghosts of the sidebar's runs
    (Spike features, Ghosts) once per timestep as well."""
    first, second = state.get("run_a"), state.get("run_b")
    t = state.get("t") if isinstance(state.get("t"), int) else None
    known = tuple((n, str(p)) for n, p in available.items())
    opened = [_loader(available, n) for n in dict.fromkeys((first, second)) if n in available]
    return [(("tables", settings, known, first, second), steps(available, first, second, settings)),
            (("ghosts", settings.ghost, known, first, second, t),
             [step for run in opened for step in ghost_steps(run, t, settings)])]


def after_run() -> None:
    """After a page has run: queue the plans for this session's view (see plans) and start
    the worker. Does nothing when switched off; never fails the page."""
    import streamlit as st

    if not enabled() or not st.runtime.exists():
        return
    try:
        from app import runs as R
        from app import ui

        added = [WARMER.add(key, plan) for key, plan in plans(st.session_state, R.available_runs(),
                                                               ui.current_settings())]
        if any(added):
            WARMER.start()
    except Exception as exc:  # a warm-up that cannot be planned costs only speed
        log.debug("warm-up not planned: %s", exc)


def _current() -> Warmer | None:
    """The warmer of the module as now imported (Streamlit reloads edited modules)."""
    module = sys.modules.get(__name__)
    return getattr(module, "WARMER", None)


WARMER = Warmer(alive=lambda warmer: _current() is warmer)  # a reloaded module's new warmer ends this one's thread


class _QuietThread(logging.Filter):
    """Drops Streamlit's 'missing ScriptRunContext' warning for the warm-up thread, whose
    cached calls run outside any script on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return threading.current_thread().name != THREAD_NAME


_LOGGER = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
if not any(type(f).__name__ == "_QuietThread" for f in _LOGGER.filters):  # once, also after a reload
    _LOGGER.addFilter(_QuietThread())
