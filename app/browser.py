"""Drive the real dashboard in headless Chromium (Playwright with Debian's chromium): start
`streamlit run app/main.py`, open pages, change widgets and wait until the app is idle
again. Used by the browser tests and by app.browser_benchmark."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from app import ready

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class BrowserError(RuntimeError):
    """The app or the browser could not be started."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(env: dict | None = None, start_timeout_s: float = 90, script: str = "app/main.py"):
    """Run the dashboard (or another Streamlit `script`) on a free local port; yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            ready.wait_until_up(base, start_timeout_s, alive=lambda: proc.poll() is None)
        except ready.ReadyError:
            proc.kill()
            raise BrowserError(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}") from None
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000, cpu_slowdown: float = 1.0):
    """A Playwright page in headless Debian chromium. cpu_slowdown > 1: the page's renderer
    runs that many times slower (Chromium's CPU throttling, as in DevTools), to see the
    dashboard as a slower machine would."""
    if cpu_slowdown < 1:
        raise ValueError(f"cpu_slowdown must be >= 1 (1: no slowdown), got {cpu_slowdown}")
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise BrowserError("Debian's chromium is missing; run scripts/setup.sh --test as root")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(120_000)
        if cpu_slowdown > 1:
            context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
        try:
            yield page
        finally:
            browser.close()


RUNNING = '[data-testid="stStatusWidget"]'
STALE = '[data-stale="true"]'


# every chart (app.live_chart, a v2 component) has drawn its figure, or shows why it could not
CHARTS_DRAWN = ("() => [...document.querySelectorAll('[data-testid=stBidiComponentRegular]')].every(e => { "
                "const c = e.querySelector('.snnr-chart'); return c && (c.querySelector('.main-svg') || c.textContent); })")


def wait_idle(page, settle_ms: int = 120) -> None:
    """Until the script run that the last change started has finished and the page is drawn:
    no 'running' status, no stale element, every chart drawn, then two animation frames."""
    page.wait_for_timeout(settle_ms)
    page.wait_for_selector(RUNNING, state="detached", timeout=120_000)
    page.wait_for_function(f"() => document.querySelectorAll('{STALE}').length === 0", timeout=120_000)
    page.wait_for_function(CHARTS_DRAWN, timeout=120_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def open_page(page, server: str, path: str, title: str) -> None:
    page.goto(f"{server}/{path}")
    page.get_by_role("heading", name=title).first.wait_for()
    wait_idle(page)


def go_to(page, title: str) -> None:
    """Navigate inside the app (same session), by the sidebar link."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).first.wait_for()
    wait_idle(page)


def open_option(page, label: str, option):
    """Open the selectbox labelled `label`; returns the locator of its option (index or
    visible text), not yet clicked."""
    box = page.get_by_role("combobox", name=label, exact=True).first
    box.scroll_into_view_if_needed()
    box.locator("xpath=..").get_by_role("button", name="Open").click()
    listbox = page.get_by_role("listbox").first
    listbox.wait_for()
    options = listbox.get_by_role("option")
    target = options.nth(option) if isinstance(option, int) else options.filter(has_text=option).first
    target.wait_for()
    return target


def choose(page, label: str, option) -> None:
    """Pick an option (index or visible text) of the selectbox labelled `label`."""
    target = open_option(page, label, option)
    text = target.inner_text()
    target.click()
    page.get_by_role("listbox").first.wait_for(state="detached")
    page.wait_for_function("([l, v]) => [...document.querySelectorAll('input[role=combobox]')]"
                           ".some(e => e.getAttribute('aria-label') === l && e.value === v)", arg=[label, text])
    wait_idle(page)


def selected(page, label: str) -> str:
    return page.get_by_role("combobox", name=label, exact=True).first.input_value()


def set_number(page, label: str, value) -> None:
    box = page.get_by_label(label, exact=True).first
    box.scroll_into_view_if_needed()
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


_TILE = """(c) => { const gd = [...document.querySelectorAll('.js-plotly-plot')].find(
        gd => gd.data && gd.data.some(t => t.name === 'tiles' && t.customdata.includes(c)));
    if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
    const t = gd.data.find(t => t.name === 'tiles'); const k = t.customdata.indexOf(c);
    const fl = gd._fullLayout, box = gd.getBoundingClientRect();
    return [box.left + fl._size.l + fl.xaxis.d2p(t.x[k]), box.top + fl._size.t + fl.yaxis.d2p(t.y[k])]; }"""


def tile_position(page, channel: int) -> tuple[float, float]:
    """Page coordinates of `channel`'s tile in the spike-feature mosaic (its marker in trace
    'tiles'), once the chart has drawn and stopped moving."""
    pos, previous = page.wait_for_function(_TILE, arg=channel).json_value(), None
    for _ in range(40):  # at most 6 s
        if pos is not None and pos == previous:
            return tuple(pos)
        page.wait_for_timeout(150)
        previous, pos = pos, page.evaluate(_TILE, channel)
    raise BrowserError(f"the tile of channel {channel} kept moving or vanished: {previous} -> {pos}")


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


# In-page stopwatch: the first pointer press after arming starts it; every DOM change after
# that moves its end to the second frame drawn after it. Left out: plotly's hover labels and
# the cursor classes of its drag layer (where the pointer rests after the click, not the
# page's answer to it).
_WATCH = """(fromLoad) => {
    const s = window.__snnrTimer || (window.__snnrTimer = {});
    if (s.observer) s.observer.disconnect();
    s.start = fromLoad ? 0 : null; s.end = null; s.last = null;
    if (!fromLoad) {
        window.addEventListener('pointerdown', () => { if (s.start === null) s.start = performance.now(); },
                                {capture: true, once: true});
    }
    const pointer = r => { const e = r.target.nodeType === 1 ? r.target : r.target.parentElement;
                           return e && (e.closest('.hoverlayer') || (r.attributeName === 'class' && e.closest('.draglayer'))); };
    s.observer = new MutationObserver(records => {
        if (s.start === null || records.every(pointer)) return;
        const at = s.last = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => { if (s.last === at) s.end = performance.now(); }));
    });
    s.observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def arm_timer(page) -> None:
    """Start watching the page: the next pointer press is time zero."""
    page.evaluate(_WATCH, False)


def time_loads(page) -> None:
    """Every page load in `page` from now on is timed from its navigation start (time zero of
    the page's clock) to the frame drawn after its last change; read with timed_seconds."""
    page.add_init_script(f"({_WATCH})(true)")


def timed_seconds(page, quiet_ms: int = 500) -> float:
    """Seconds from the armed pointer press (or the navigation start) to the frame drawn after the page's last change,
    read once the page is idle (see wait_idle) and has not changed for quiet_ms. This is
    what the user waits for; Playwright's own checks before a click and its polling after
    it are not in it."""
    wait_idle(page, settle_ms=0)
    page.wait_for_function("""(q) => { const s = window.__snnrTimer;
        return s.start !== null && s.end !== null && s.end >= s.last && performance.now() - s.last > q; }""",
                           arg=quiet_ms, polling=50)
    start, end = page.evaluate("() => [window.__snnrTimer.start, window.__snnrTimer.end]")
    return (end - start) / 1000
