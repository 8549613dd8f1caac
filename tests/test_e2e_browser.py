"""The real app, started as `streamlit run app/main.py`, driven in headless Chromium
(Playwright with Debian's chromium): every page opens, layer and channel switch, a
checkpoint is uploaded and recorded on the synthetic data, and a figure downloads as a
valid PNG. Screenshots of every page go to test-artifacts/screenshots/."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = [("overview", "Overview"), ("spike_features", "Spike features"), ("membrane", "Membrane potentials"),
         ("ghosts", "Ghost features"), ("compare", "Compare"), ("inspect", "Inspect a checkpoint"), ("export", "Export")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}")
        time.sleep(0.5)
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; run scripts/setup.sh --test as root")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        yield pg
        browser.close()


def open_page(page, server, path, title):
    page.goto(f"{server}/{path}")
    page.get_by_role("heading", name=title).first.wait_for()
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)


def wait_idle(page):
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)


def choose(page, label, option):
    """Pick an option (index or visible text) of the selectbox labelled `label`."""
    box = page.get_by_role("combobox", name=label, exact=True).first
    box.scroll_into_view_if_needed()
    box.locator("xpath=..").get_by_role("button", name="Open").click()
    listbox = page.get_by_role("listbox").first
    listbox.wait_for()
    options = listbox.get_by_role("option")
    target = options.nth(option) if isinstance(option, int) else options.filter(has_text=option).first
    text = target.inner_text()
    target.click()
    listbox.wait_for(state="detached")
    page.wait_for_function("([l, v]) => [...document.querySelectorAll('input[role=combobox]')]"
                           ".some(e => e.getAttribute('aria-label') === l && e.value === v)", arg=[label, text])
    wait_idle(page)


def record_as(page, run_name):
    """On the Inspect page: name the run, press Record, wait for the success message."""
    name = page.locator('[data-testid="stTextInput"]').filter(has_text="name of the new run").locator("input")
    name.fill(run_name)
    name.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Record").click()
    page.get_by_text(f"recorded {run_name}.h5").wait_for()
    no_exception(page)


def no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def test_every_page_opens_and_is_photographed(page, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path, title in PAGES:
        open_page(page, server, path, title)
        page.wait_for_timeout(1500)
        no_exception(page)
        page.screenshot(path=str(SHOTS / f"{path}.png"), full_page=True)
        with Image.open(SHOTS / f"{path}.png") as img:
            assert img.size[0] >= 1000


def test_switch_layer_and_channel(page, server):
    open_page(page, server, "spike_features", "Spike features")
    choose(page, "layer", 1)
    choose(page, "channel", 3)
    no_exception(page)
    page.get_by_text("channel 3 across timesteps").first.wait_for()
    page.screenshot(path=str(SHOTS / "spike_features_switched.png"), full_page=True)


def test_upload_record_and_browse(page, server):
    open_page(page, server, "inspect", "Inspect a checkpoint")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        str(REPO / "sample_runs" / "asa1.pt"))
    page.get_by_text("asa1.pt").first.wait_for()
    record_as(page, "uploaded")
    page.screenshot(path=str(SHOTS / "inspect_recorded.png"), full_page=True)
    # navigate inside the app (a new URL would start a new session, without this upload)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Overview").click()
    page.get_by_role("heading", name="Overview").first.wait_for()
    wait_idle(page)
    choose(page, "run", "uploaded")
    page.get_by_role("heading", name="uploaded").first.wait_for()
    no_exception(page)


def test_upload_events_npz_and_record(page, server, tmp_path):
    from events.formats.numpy_events import write_npz
    from events.synthetic import SyntheticSettings, make_recording

    write_npz(tmp_path / "my_events.npz", make_recording(2, 77, SyntheticSettings()))
    open_page(page, server, "inspect", "Inspect a checkpoint")
    page.get_by_text("uploaded recording").click()
    wait_idle(page)
    uploaders = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    if page.get_by_text("asa1.pt").count() == 0:
        uploaders.first.set_input_files(str(REPO / "sample_runs" / "asa1.pt"))
        page.get_by_text("asa1.pt").first.wait_for()
    uploaders.nth(1).set_input_files(str(tmp_path / "my_events.npz"))
    page.get_by_text("my_events.npz").first.wait_for()
    record_as(page, "from_npz")


def test_download_a_figure_as_png(page, server, tmp_path):
    open_page(page, server, "export", "Export")
    page.get_by_role("button", name="Prepare figure file").click()
    button = page.get_by_role("button", name="Download")
    button.first.wait_for()
    with page.expect_download() as info:
        button.first.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.suffix == ".png"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(target) as img:
        img.load()
        assert img.size[0] > 200
