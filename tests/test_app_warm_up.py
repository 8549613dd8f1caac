"""app.warm: the background warm-up runs only while the dashboard is idle, survives a failing
step, computes exactly what the pages then read from the cache, and the app script does
nothing when a spawned worker process imports it."""

import runpy
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app import ui, warm

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app" / "main.py")


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_steps_wait_for_quiet_and_a_failing_step_is_dropped():
    clock = Clock()
    w = warm.Warmer(quiet_s=1.0, clock=clock)
    done = []

    def fail():
        raise ValueError("damaged")

    assert w.add("view", [lambda: done.append(1), fail, lambda: done.append(3)])
    assert not w.add("view", [lambda: done.append(99)])  # one plan per key
    clock.now += 0.5
    assert w.idle_in() == pytest.approx(0.5) and not w.run_one() and done == []  # too soon after the start
    clock.now += 1.0
    with w.script_run():
        assert w.idle_in() is None and not w.run_one()  # never while a script runs
        clock.now += 5.0
    assert not w.run_one()  # the run just ended
    clock.now += 0.99
    assert not w.run_one()
    clock.now += 0.02
    assert w.run_one() and w.run_one() and w.run_one() and not w.run_one()
    assert done == [1, 3] and w.pending() == 0


def test_newest_plan_first_expanded_steps_next_and_old_plans_forgotten():
    w = warm.Warmer(quiet_s=0.0, clock=Clock(), max_plans=2)
    done = []
    w.add("old", [lambda: done.append("old")])
    w.add("new", [lambda: [lambda: done.append("layer 0"), lambda: done.append("layer 1")],
                  lambda: done.append("new")])
    while w.run_one():
        pass
    assert done == ["layer 0", "layer 1", "new", "old"]
    for key in ("a", "b", "c"):
        w.add(key, [lambda key=key: done.append(key)])
    assert w.pending() == 2 and w.add("a", [lambda: done.append("a again")])  # 'a' was dropped, so planned anew
    while w.run_one():
        pass
    assert done[4:] == ["a again", "c"]


def test_the_worker_thread_waits_for_quiet_and_ends_when_replaced():
    alive = [True]
    w = warm.Warmer(quiet_s=0.05, alive=lambda warmer: alive[0])
    done = threading.Event()
    with w.script_run():
        w.add("view", [done.set])
        w.start()
        assert not done.wait(0.3)  # not while a script runs
    assert done.wait(5.0)
    alive[0] = False
    w.add("later", [lambda: None])
    w._thread.join(10.0)
    assert not w._thread.is_alive()


def _counting(monkeypatch, calls: Counter):
    import analysis.comparison
    import analysis.report
    import analysis.tables
    from app import runs as R

    def wrap(module, name):
        original = getattr(module, name)

        def counted(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)
        monkeypatch.setattr(module, name, counted)

    for name in ("run_summary", "layer_table", "table1", "pattern_table", "table4"):
        wrap(R, name)
    wrap(analysis.tables, "channel_table")
    wrap(analysis.tables, "ghosts")
    wrap(analysis.report, "pick_patterns")
    wrap(analysis.comparison, "paired_comparison")
    wrap(analysis.comparison, "group_runs")


def test_warm_up_computes_what_the_pages_then_read(monkeypatch):
    from app import runs as R

    st.cache_data.clear()
    calls = Counter()
    _counting(monkeypatch, calls)
    available = {p.stem: p for p in sorted(R.SAMPLE_RUNS.glob("*.h5"))}
    assert set(available) >= {"vanilla", "asa1"}
    w = warm.Warmer(quiet_s=0.0, clock=Clock())
    for key, plan in warm.plans({"run_a": "vanilla", "run_b": "asa1"}, available, ui.settings_from({})):
        w.add(key, plan)
    while w.run_one():
        pass
    warmed = dict(calls)
    layers = len(R.load(available["vanilla"]).layers)
    assert warmed["run_summary"] == warmed["layer_table"] == len(available)
    assert warmed["channel_table"] == 2 * layers and warmed["pick_patterns"] == 2 * layers and warmed["ghosts"] >= 2
    for name in ("table1", "pattern_table", "table4", "paired_comparison", "group_runs"):
        assert warmed[name] == 2, name  # the one comparable pair, in both orders
    for page in ("views/overview.py", "views/spike_features.py", "views/membrane.py", "views/ghosts.py",
                 "views/compare.py"):
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page(page)
        at.run()
        assert not at.exception and not at.error, page
    assert dict(calls) == warmed  # every page read its tables from the warmed cache


def test_plans_follow_the_sidebar_runs_and_the_timestep():
    from app import runs as R

    available = {p.stem: p for p in sorted(R.SAMPLE_RUNS.glob("*.h5"))}
    rules = ui.settings_from({})
    keys = [key for key, _ in warm.plans({"run_a": "vanilla", "run_b": "asa1", "t": 3}, available, rules)]
    swapped = [key for key, _ in warm.plans({"run_a": "asa1", "run_b": "vanilla", "t": 3}, available, rules)]
    later = [key for key, _ in warm.plans({"run_a": "vanilla", "run_b": "asa1", "t": 4}, available, rules)]
    assert keys[0] != swapped[0] and keys[1] != swapped[1]  # another run chosen: planned again
    assert later[0] == keys[0] and later[1] != keys[1]  # another timestep: only the ghosts again
    assert keys[0] != warm.plans({"run_a": "vanilla", "run_b": "asa1"}, available, ui.settings_from({"rule_fg": 0.2}))[0][0]


def test_warm_up_off_in_the_tests_and_on_by_default(monkeypatch):
    assert not warm.enabled()  # tests/conftest.py
    monkeypatch.delenv("SNNR_WARM_UP")
    assert warm.enabled()


def test_the_app_script_does_nothing_when_a_spawned_worker_imports_it(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard ran inside a worker process")

    monkeypatch.setattr(st, "navigation", refuse)
    monkeypatch.setattr(st, "set_page_config", refuse)
    runpy.run_path(APP, run_name="__mp_main__")  # how multiprocessing's spawn imports the parent's main script
    # and such a worker does not import the dashboard's heavy modules (it started in ~10 s when it did)
    probe = ("import runpy, sys; runpy.run_path(sys.argv[1], run_name='__mp_main__'); "
             "print(sorted(m for m in ('streamlit', 'torch', 'plotly', 'app.ui') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe, APP], capture_output=True, text=True, check=True,
                          cwd=REPO).stdout.strip() == "[]"
    with pytest.raises(AssertionError, match="worker process"):
        runpy.run_path(APP, run_name="__main__")


def test_reading_recordings_needs_no_torch():
    """The dashboard's shared modules and the recording reader leave torch to the pages and
    measures that need a model (energy, Inspect, Silence channels): Spike features, Membrane,
    Ghosts and Samples open without importing it (about 3 s with torchvision, on a first page)."""
    probe = ("import sys; import recorder.reader, analysis.loader, analysis.tables, analysis.figures, analysis.report, "
             "analysis.samples, analysis.comparison, app.ui, app.runs, app.warm, app.state, app.help, app.live_chart; "
             "print(sorted(m for m in ('torch', 'torchvision', 'spikingjelly') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=REPO).stdout.strip() == "[]"
