"""app.browser_benchmark in real Chromium. Its own module: Playwright's sync API cannot run
inside another module's open browser (test_e2e_browser keeps one per module)."""

import re


def test_browser_benchmark_times_an_interaction(capsys):
    """The benchmark's path on a prepared server (app.ready), one repeat of one interaction,
    with the page's CPU slowed: a line of real times in the page and as the driver waits."""
    from app.browser_benchmark import main

    assert main(["--only", "ghosts: layer", "--repeats", "1", "--cpu-slowdown", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "the page's CPU slowed 1.5x" in out
    line = next(l for l in out.splitlines() if l.startswith("ghosts: layer"))
    page_ms, driver_ms = (float(x) for x in re.findall(r"median +(\d+) ms", line))
    assert 0 < page_ms < 60_000 and 0 < driver_ms < 60_000
