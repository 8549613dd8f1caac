"""Time per interaction of the real dashboard, in headless Chromium, on the shipped sample
runs: from the widget change to the page being idle again (the new view in the URL, no
script running, no stale element, two animation frames drawn). Prints the median and the
worst of each interaction, the first load, and the floor: the same change in a
one-selectbox Streamlit app.

    .venv/bin/python -m app.browser_benchmark [--repeats 5]

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


def _until(page, url_part: str) -> None:
    page.wait_for_url(f"**{url_part}**", timeout=120_000)
    B.wait_idle(page, settle_ms=0)


def _pick(page, label: str, option):
    """Open the selectbox `label` (prepared, untimed); returns the click on the option (timed)."""
    return B.open_option(page, label, option).click


def _tile(page, channel: int):
    """The click on a spike-feature tile (its position found untimed)."""
    index = page.evaluate("""(c) => [...document.querySelectorAll('.js-plotly-plot')].findIndex(
        gd => gd.data && gd.data.some(t => t.name === 'tiles' && t.customdata.includes(c)))""", channel)
    pos = page.evaluate("""([i, c]) => { const gd = document.querySelectorAll('.js-plotly-plot')[i];
        const t = gd.data.find(t => t.name === 'tiles'); const k = t.customdata.indexOf(c);
        const fl = gd._fullLayout, box = gd.getBoundingClientRect();
        return [box.left + fl._size.l + fl.xaxis.d2p(t.x[k]), box.top + fl._size.t + fl.yaxis.d2p(t.y[k])]; }""",
                        [index, channel])
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
    ]


FLOOR_APP = """import streamlit as st
value = st.selectbox("run", ["a", "b"], key="run")
st.query_params["run"] = value
st.write(f"chosen {value}")
"""


def floor(repeats: int) -> list[float]:
    """Seconds per selectbox change of a one-widget Streamlit app, measured the same way:
    the floor of Streamlit and this browser on this machine."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "floor.py"
        script.write_text(FLOOR_APP)
        with B.app_server(script=str(script)) as server, B.chromium_page() as page:
            page.goto(f"{server}/")
            page.get_by_text("chosen").first.wait_for()
            B.wait_idle(page)
            times = []
            for i in range(max(1, repeats)):
                name = ["b", "a"][i % 2]
                click = _pick(page, "run", name)
                start = time.perf_counter()
                click()
                _until(page, f"run={name}")
                times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.browser_benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    with B.app_server() as server, B.chromium_page() as page:
        loads = []
        for _ in range(max(1, args.repeats)):
            start = time.perf_counter()
            page.goto(f"{server}/")
            page.get_by_role("heading", name="Overview").first.wait_for()
            _until(page, "run=")
            loads.append(time.perf_counter() - start)
        print(f"{'first load (new session, overview)':<36} median {1000 * statistics.median(loads):7.0f} ms   "
              f"worst {1000 * max(loads):7.0f} ms   (first of all: {1000 * loads[0]:.0f} ms)")
        medians, worst = [], []
        for path, title, what, action in interactions():
            B.open_page(page, server, path, title)
            _until(page, "run=")
            times = []
            for i in range(max(1, args.repeats)):
                trigger, done = action(page, i)
                start = time.perf_counter()
                trigger()
                _until(page, done)
                times.append(time.perf_counter() - start)
            medians.append(statistics.median(times))
            worst.append(max(times))
            print(f"{what:<36} median {1000 * medians[-1]:7.0f} ms   worst {1000 * worst[-1]:7.0f} ms", flush=True)
        print(f"all interactions: median of medians {1000 * statistics.median(medians):.0f} ms, "
              f"worst {1000 * max(worst):.0f} ms")
    times = floor(args.repeats)
    print(f"{'floor: one-selectbox Streamlit app':<36} median {1000 * statistics.median(times):7.0f} ms   "
          f"worst {1000 * max(times):7.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
