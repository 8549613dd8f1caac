"""Time per interaction of the real dashboard, in headless Chromium, on the shipped sample
runs: from the widget change to the page being idle again. Measured in the page itself:
from the pointer press (or the navigation start, for a first load) to the frame drawn after
the page's last change, read once the new view is in the URL, no script runs, no element is
stale and nothing has changed for 0.5 s. Beside it, the time as the driver (Playwright) waits,
which adds its checks before a click and its polling after it. The server is prepared as
./dashboard.sh prepares it (app.ready's warm start). Prints the median and the worst of each
interaction; first loads in new browsers (empty caches) and in new sessions of one browser;
the first load on a server just started without the warm start; and three floors: the same
change in a one-selectbox Streamlit app, and in that app drawing one small plotly chart with
st.plotly_chart (drawn anew) or with the dashboard's app.live_chart (updated in place).
--cpu-slowdown N runs the browser's page N times slower, to see a slower machine.

    .venv/bin/python -m app.browser_benchmark [--repeats 5] [--cpu-slowdown 2]

Run it with the machine otherwise idle (check `uptime`); AppTest's view of the same
interactions (the script run alone, without browser and transport) is `python -m app.benchmark`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app import browser as B
from app import ready


def _until(page, url_part: str) -> None:
    page.wait_for_url(f"**{url_part}**", timeout=120_000)
    B.wait_idle(page, settle_ms=0)


def _pick(page, label: str, option):
    """Open the selectbox `label` (prepared, untimed); returns the click on the option (timed)."""
    return B.open_option(page, label, option).click


def _tile(page, channel: int):
    """The click on a spike-feature tile (its position found untimed)."""
    pos = B.tile_position(page, channel)
    return lambda: page.mouse.click(*pos)


def interactions():
    """(page path, page title, description, prepare(page, i) -> (timed trigger, URL part that
    marks the new view))."""
    def run(page, i):
        name = ["asa1", "vanilla"][i % 2]
        return _pick(page, "run", name), f"run={name}"

    def compare(page, i):
        name = ["(none)", "asa1"][i % 2]
        return _pick(page, "compare with", name), "compare=%28none%29" if name == "(none)" else f"compare={name}"

    def layer(page, i):
        return _pick(page, "layer", (i + 1) % 3), f"layer={(i + 1) % 3}"

    def channel(page, i):
        c = [2, 5][i % 2]
        return _pick(page, "channel", f"c{c}"), f"channel={c}"

    def tile(page, i):
        c = [4, 9][i % 2]
        return _tile(page, c), f"channel={c}"

    return [
        ("", "Overview", "overview: switch run", run),
        ("", "Overview", "overview: compare with", compare),
        ("spike_features", "Spike features", "spike features: layer", layer),
        ("spike_features", "Spike features", "spike features: click a tile", tile),
        ("membrane", "Membrane potentials", "membrane: channel", channel),
        ("ghosts", "Ghost features", "ghosts: layer", layer),
        ("compare", "Compare", "compare: switch run", run),
    ]


FLOOR_APP = """import streamlit as st
value = st.selectbox("run", ["a", "b"], key="run")
st.query_params["run"] = value
st.write(f"chosen {value}")
"""

# the same, drawing one small plotly chart that changes with the choice: what one chart adds,
# drawn anew by st.plotly_chart, or updated in place by the dashboard's app.live_chart
_FIGURE = """import plotly.graph_objects as go
fig = go.Figure(go.Scatter(y=[(i * (3 if value == "a" else 7)) % 11 for i in range(30)], mode="lines+markers"),
                layout=dict(height=360, width=520))
"""
ONE_CHART_APP = FLOOR_APP + _FIGURE + "st.plotly_chart(fig, theme=None)\n"
ONE_LIVE_CHART_APP = FLOOR_APP + _FIGURE + "from app.live_chart import live_chart\nlive_chart(fig, 'chart', width='content')\n"


def _timed(page, trigger, done: str) -> tuple[float, float]:
    """(in the page, as the driver waits) seconds of one interaction."""
    B.arm_timer(page)
    start = time.perf_counter()
    trigger()
    _until(page, done)
    driver = time.perf_counter() - start
    return B.timed_seconds(page), driver


def floor(repeats: int, app: str = FLOOR_APP, cpu_slowdown: float = 1.0) -> list[tuple[float, float]]:
    """(in page, driver) seconds per selectbox change of a one-widget Streamlit app (`app`),
    measured the same way: the floor of Streamlit and this browser on this machine."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "floor.py"
        script.write_text(app)
        with B.app_server(script=str(script)) as server, B.chromium_page(cpu_slowdown=cpu_slowdown) as page:
            page.goto(f"{server}/")
            page.get_by_text("chosen").first.wait_for()
            if app != FLOOR_APP:  # the first run goes on importing plotly after the text shows
                page.locator(".main-svg").first.wait_for()
            B.wait_idle(page)
            times = []
            for i in range(max(1, repeats)):
                name = ["b", "a"][i % 2]
                times.append(_timed(page, _pick(page, "run", name), f"run={name}"))
    return times


def time_interactions(page, server: str, chosen, repeats: int) -> tuple[list[float], list[float]]:
    """Time each of `chosen` (see interactions) `repeats` times, printing a line each; returns
    their medians and worst times (in page, seconds)."""
    medians, worst = [], []
    for path, title, what, action in chosen:
        B.open_page(page, server, path, title)
        _until(page, "run=")
        times = []
        for i in range(repeats):
            trigger, done = action(page, i)
            times.append(_timed(page, trigger, done))
        medians.append(statistics.median(t[0] for t in times))
        worst.append(max(t[0] for t in times))
        print(_line(what, times), flush=True)
    return medians, worst


def first_loads(page, server: str, repeats: int) -> list[tuple[float, float]]:
    """(in page, driver) seconds of `repeats` first loads of the overview in new sessions of
    `page`'s browser, from the navigation start."""
    B.time_loads(page)
    loads = []
    for _ in range(repeats):
        start = time.perf_counter()
        page.goto(f"{server}/")
        page.get_by_role("heading", name="Overview").first.wait_for()
        _until(page, "run=")
        loads.append((B.timed_seconds(page), time.perf_counter() - start))
    return loads


def new_browser_loads(server: str, repeats: int, cpu_slowdown: float = 1.0) -> list[tuple[float, float]]:
    """(in page, driver) seconds of the first load in each of `repeats` new browsers (empty
    caches): what a first visitor waits for."""
    loads = []
    for _ in range(repeats):
        with B.chromium_page(cpu_slowdown=cpu_slowdown) as page:
            loads += first_loads(page, server, 1)
    return loads


def cold_first_load(cpu_slowdown: float = 1.0) -> tuple[float, float]:
    """(in page, driver) seconds of the first load on a server just started without
    app.ready's warm start, in a new browser: what the first visitor would wait for then."""
    with B.app_server() as server, B.chromium_page(cpu_slowdown=cpu_slowdown) as page:
        return first_loads(page, server, 1)[0]


def _line(what: str, times: list[tuple[float, float]], note: str = "") -> str:
    page = [t[0] for t in times]
    driver = [t[1] for t in times]
    return (f"{what:<36} median {1000 * statistics.median(page):6.0f} ms  worst {1000 * max(page):6.0f} ms"
            f"   | driver: median {1000 * statistics.median(driver):6.0f} ms  worst {1000 * max(driver):6.0f} ms{note}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.browser_benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", metavar="TEXT", help="only the interactions whose name contains TEXT, without first "
                                                  "loads and floors (to compare two versions of the code in turn)")
    p.add_argument("--cpu-slowdown", type=float, default=1.0, metavar="N",
                   help="run the browser's page N times slower (Chromium's CPU throttling), as on a slower machine; "
                        "the server is not slowed")
    args = p.parse_args(argv)
    repeats = max(1, args.repeats)
    if args.cpu_slowdown < 1:
        p.error(f"--cpu-slowdown must be at least 1 (1: no slowdown), got {args.cpu_slowdown}")
    chosen = [i for i in interactions() if args.only is None or args.only in i[2]]
    if not chosen:
        p.error(f"--only {args.only!r} names no interaction; they are: " + ", ".join(i[2] for i in interactions()))
    print("time per interaction: in the page (pointer press -> frame after the last change) | as the driver waits"
          + (f"; the page's CPU slowed {args.cpu_slowdown:g}x" if args.cpu_slowdown > 1 else ""))
    with B.app_server() as server:
        prepared = ready.warm_start(server)  # as ./dashboard.sh does beside the server
        if args.only is None:
            print(_line("first load, new browser", new_browser_loads(server, repeats, args.cpu_slowdown)))
        with B.chromium_page(cpu_slowdown=args.cpu_slowdown) as page:
            if args.only is None:
                B.open_page(page, server, "", "Overview")  # this browser's caches, untimed
                print(_line("first load, new session", first_loads(page, server, repeats)))
            medians, worst = time_interactions(page, server, chosen, repeats)
            if args.only is None:
                print(f"all interactions, in the page: median of medians {1000 * statistics.median(medians):.0f} ms, "
                      f"worst {1000 * max(worst):.0f} ms")
    if args.only is None:
        print(f"app.ready's warm start (as ./dashboard.sh runs it beside the server) took {1000 * prepared:.0f} ms "
              "before the loads above; without it:")
        print(_line("first load, new browser, server not prepared", [cold_first_load(args.cpu_slowdown)]))
        print(_line("floor: one-selectbox Streamlit app", floor(repeats, cpu_slowdown=args.cpu_slowdown)))
        print(_line("floor + one small plotly chart", floor(repeats, ONE_CHART_APP, cpu_slowdown=args.cpu_slowdown)))
        print(_line("floor + the same chart, live_chart",
                    floor(repeats, ONE_LIVE_CHART_APP, cpu_slowdown=args.cpu_slowdown)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
