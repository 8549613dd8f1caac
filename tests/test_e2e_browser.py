"""The real app, started as `streamlit run app/main.py`, driven in headless Chromium
(Playwright with Debian's chromium): every page opens, layer and channel switch, a
checkpoint is uploaded and recorded on the synthetic data, and a figure downloads as a
valid PNG. Screenshots of every page go to test-artifacts/screenshots/."""

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from app import browser as B

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "test-artifacts" / "screenshots"
PAGES = [("", "Overview"), ("spike_features", "Spike features"), ("membrane", "Membrane potentials"),
         ("ghosts", "Ghost features"), ("samples", "Samples"), ("compare", "Compare"), ("inspect", "Inspect a checkpoint"), ("export", "Export")]


@pytest.fixture(scope="module")
def server():
    try:
        with B.app_server() as base:
            yield base
    except B.BrowserError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def page(server):
    try:
        with B.chromium_page() as pg:
            yield pg
    except B.BrowserError as exc:
        pytest.fail(str(exc))


open_page, wait_idle, choose, no_exception = B.open_page, B.wait_idle, B.choose, B.no_exception


def record_as(page, run_name):
    """On the Inspect page: name the run, press Record, wait for the success message."""
    name = page.locator('[data-testid="stTextInput"]').filter(has_text="name of the new run").locator("input")
    name.fill(run_name)
    name.press("Enter")
    wait_idle(page)
    replace = page.get_by_text("replace the existing run")
    if replace.count():
        replace.first.click()
        wait_idle(page)
    page.get_by_role("button", name="Record").click()
    try:
        page.get_by_text(f"recorded {run_name}.h5").wait_for(timeout=240_000)
    except Exception:
        page.screenshot(path=str(SHOTS / f"failed_record_{run_name}.png"), full_page=True)
        raise AssertionError(f"recording {run_name} did not finish; the page says: "
                             + " | ".join(page.locator('[data-testid="stAlert"]').all_inner_texts())) from None
    no_exception(page)


def upload(page, index: int, path, shows: str | None = None) -> None:
    """Set file `path` on the index-th file uploader once the page is idle and wait until
    `shows` (default: the file name) is visible. A file set while a rerun replaces the
    uploader is lost by the browser side, so it is set once more if nothing shows in 30 s."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait_idle(page)
    box = page.locator('[data-testid="stFileUploader"] input[type="file"]').nth(index)
    box.wait_for(state="attached")
    target = page.get_by_text(shows or Path(path).name).first
    for attempt in range(2):
        box.set_input_files(str(path))
        try:
            target.wait_for(timeout=30_000 if attempt == 0 else 120_000)
            return
        except PlaywrightTimeout:
            if attempt:
                raise
            wait_idle(page)


def no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def settled(page, quiet_ms: int = 1500) -> None:
    """Until no spinner shows and the page's main area has not changed for quiet_ms."""
    page.wait_for_function("""(quiet) => { const s = window.__settled || (window.__settled = {n: -1, t: 0});
        const n = document.querySelectorAll('[data-testid=stMain] *').length, now = performance.now();
        if (n !== s.n || document.querySelector('[data-testid=stSpinner]')) { s.n = n; s.t = now; return false; }
        return now - s.t >= quiet; }""", arg=quiet_ms, polling=100, timeout=120_000)


def test_every_page_opens_and_is_photographed(page, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path, title in PAGES:
        open_page(page, server, path, title)
        settled(page)  # a cold first load is still loading recordings when the heading shows
        no_exception(page)
        shot = SHOTS / f"{path or 'overview'}.png"  # the default page lives at /
        page.screenshot(path=str(shot), full_page=True)
        with Image.open(shot) as img:
            assert img.size[0] >= 1000
        if not path:  # Overview's per-layer tables of both runs show every column, none behind a scroll
            widths = page.evaluate("() => [...document.querySelectorAll('[data-testid=stMain] table')].map("
                                   "t => [t.parentElement.scrollWidth, t.parentElement.clientWidth])")
            assert len(widths) == 2 and all(scroll <= client for scroll, client in widths), widths


def test_switch_layer_and_channel(page, server):
    open_page(page, server, "spike_features", "Spike features")
    choose(page, "layer", 1)
    choose(page, "channel", 3)
    no_exception(page)
    page.get_by_text("channel 3 across timesteps").first.wait_for()
    page.screenshot(path=str(SHOTS / "spike_features_switched.png"), full_page=True)


def test_upload_record_and_browse(page, server):
    open_page(page, server, "inspect", "Inspect a checkpoint")
    upload(page, 0, REPO / "sample_runs" / "asa1.pt")
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
    page.locator('[data-testid="stFileUploader"]').nth(1).wait_for()  # the data uploader: the choice has landed
    if page.get_by_text("asa1.pt").count() == 0:
        upload(page, 0, REPO / "sample_runs" / "asa1.pt")
    upload(page, 1, tmp_path / "my_events.npz")
    record_as(page, "from_npz")


def test_downloads_take_one_click_and_carry_provenance(page, server, tmp_path):
    """A PNG in one click, at the chosen DPI with its provenance inside; the whole report
    as one zip."""
    from analysis.provenance import read as read_provenance

    open_page(page, server, "export", "Export")
    with page.expect_download() as info:
        page.get_by_role("button", name="PNG", exact=True).click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.suffix == ".png" and "_L0_" in target.name
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(target) as img:
        img.load()
        assert img.size[0] > 200 and [round(d) for d in img.info["dpi"]] == [300, 300]
    lines = read_provenance(target)
    assert lines[0].startswith("run vanilla (vanilla.h5): lif_snn3") and "sha256" in lines[0]
    with page.expect_download(timeout=240_000) as info:
        page.get_by_role("button", name="Download everything").click()
    bundle = tmp_path / info.value.suggested_filename
    info.value.save_as(bundle)
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
    assert any(n.endswith("index.md") for n in names) and any(n.endswith("table1.tex") for n in names)
    assert {n.rsplit(".", 1)[1] for n in names if "/figures/" in n} == {"png", "svg", "pdf"}


def open_rules(page):
    """Open the sidebar's Rules expander when it is closed."""
    box = page.get_by_label("noise if background/foreground density >=", exact=True)
    if not box.count() or not box.first.is_visible():
        page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary').first.click()
        box.first.wait_for(state="visible")
    return box.first


def framed(page, channel: int) -> int | None:
    """Wait (up to 10 s) until the mosaic drawn in the browser frames `channel` (its trace
    'frame', drawn over the tile); returns the channel framed then, None when none is."""
    read = """() => { const gd = document.querySelector('.st-key-sf_grid .js-plotly-plot');
        const f = gd && gd.data && gd.data.find(t => t.name === 'frame');
        const box = f && gd.querySelector('.scatterlayer .trace:nth-child(' + (gd.data.indexOf(f) + 1) + ') .point');
        return f && box ? f.customdata[0] : null; }"""
    try:
        page.wait_for_function(f"(c) => ({read})() === c", arg=channel, timeout=10_000)
    except Exception:
        pass
    return page.evaluate(read)


def click_tile(page, channel):
    """Click the tile of `channel` in the spike-feature mosaic (its marker in trace 'tiles')."""
    page.mouse.click(*B.tile_position(page, channel))
    wait_idle(page, settle_ms=300)


def test_a_research_session(page, server, tmp_path):
    """Upload, summary, record, the new run everywhere, a rule that holds, a click that opens a
    channel, a raster, a bad upload then a good one, three runs compared and one refused."""
    shots = SHOTS / "session"
    shots.mkdir(parents=True, exist_ok=True)

    def shot(name):
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    open_page(page, server, "inspect", "Inspect a checkpoint")
    upload(page, 0, REPO / "sample_runs" / "asa1.pt", shows="trained on")
    wait_idle(page)
    no_exception(page)
    shot("01_checkpoint_summary")
    record_as(page, "mine")
    page.get_by_text("is now selected on every page").wait_for()
    shot("02_recorded")
    for title in ("Overview", "Spike features", "Membrane potentials"):
        B.go_to(page, title)
        assert B.selected(page, "run") == "mine", title
    shot("03_new_run_selected")

    B.go_to(page, "Overview")
    box = open_rules(page)
    box.fill("1.7")
    box.press("Enter")
    page.wait_for_url("**noise_ratio=1.7**")  # the app took the value (and put it in the URL)
    wait_idle(page)
    B.go_to(page, "Spike features")
    assert float(open_rules(page).input_value()) == 1.7
    shot("04_rule_holds")

    choose(page, "layer", 0)
    click_tile(page, 5)
    page.wait_for_function("() => [...document.querySelectorAll('input[role=combobox]')]"
                           ".some(e => e.getAttribute('aria-label') === 'channel' && e.value === 'c5')")
    page.get_by_text("channel 5 across timesteps").first.wait_for()
    no_exception(page)
    assert framed(page, 5) == 5
    shot("05_tile_clicked")
    choose(page, "channel", 2)  # the figure, updated in place, frames c2
    page.get_by_text("channel 2 across timesteps").first.wait_for()
    assert framed(page, 2) == 2
    click_tile(page, 5)
    page.get_by_text("channel 5 across timesteps").first.wait_for()
    wait_idle(page)
    assert framed(page, 5) == 5
    click_tile(page, 5)  # the framed tile clicked again: the channel stays open, and framed
    page.wait_for_timeout(300)
    wait_idle(page)
    assert framed(page, 5) == 5 and B.selected(page, "channel") == "c5"

    B.go_to(page, "Samples")
    page.get_by_text("Spike raster of").first.wait_for()
    no_exception(page)
    page.get_by_text("Spike raster of").first.scroll_into_view_if_needed()
    shot("06_samples")

    from events.formats.numpy_events import write_npz
    from events.synthetic import SyntheticSettings, make_recording

    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 this is not an archive")
    write_npz(tmp_path / "good.npz", make_recording(1, 5, SyntheticSettings()))
    B.go_to(page, "Inspect a checkpoint")
    page.get_by_text("uploaded recording").click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"]').nth(1).wait_for()
    upload(page, 1, tmp_path / "broken.npz")
    name = page.locator('[data-testid="stTextInput"]').filter(has_text="name of the new run").locator("input")
    name.fill("one_upload")
    name.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Record").click()
    page.locator('[data-testid="stAlertContentError"]').first.wait_for()
    shot("07_bad_upload")
    upload(page, 1, tmp_path / "good.npz")
    wait_idle(page)
    page.get_by_role("button", name="Record").click()
    page.get_by_text("recorded one_upload.h5").wait_for()
    no_exception(page)
    shot("08_good_upload_after_bad")

    B.go_to(page, "Compare")
    choose(page, "run", "mine")
    picker = page.locator('[data-testid="stMultiSelect"] input').first
    for run in ("asa1", "vanilla", "one_upload"):
        picker.fill(run)
        picker.press("Enter")
        wait_idle(page)
    page.get_by_text("asa1 against mine").first.wait_for()
    page.get_by_text("vanilla against mine").first.wait_for()
    refusal = page.locator('[data-testid="stAlertContentError"]').first
    assert "one_upload left out" in refusal.inner_text() and "cannot compare" in refusal.inner_text()
    table1 = page.locator('[data-testid="stMarkdownContainer"] table').first  # small tables are Markdown
    headers = table1.locator("th").all_inner_texts()
    assert headers[0] == "run" and "accuracy change" in headers
    assert table1.evaluate("t => getComputedStyle(t.parentElement).overflowX") == "auto"  # wide: it scrolls
    cells = table1.locator("td").all_inner_texts()
    assert cells[0] == "mine" and any(c.endswith(" pp") for c in cells) and not any("\\" in c for c in cells)
    page.keyboard.press("Escape")  # close the multiselect's list, which covers the refusal
    refusal.scroll_into_view_if_needed()
    shot("09_three_runs_one_refused")

