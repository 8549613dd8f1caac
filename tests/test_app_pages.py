"""Every dashboard page runs under Streamlit's AppTest on the shipped sample runs and on a
tiny fixture recording, with its main widgets changed; bad input shows a readable message."""

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app" / "main.py")
FIXTURE = REPO / "tests" / "data" / "recording_v1.h5"
PAGES = ["views/overview.py", "views/spike_features.py", "views/membrane.py", "views/ghosts.py", "views/compare.py",
         "views/ablation.py", "views/inspect.py", "views/export.py"]


def app(page: str, **session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page(page)
    return at.run()


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table line, backslash escapes undone."""
    cells, cell, chars = [], "", iter(line.strip()[1:-1])
    for ch in chars:
        if ch == "\\":
            cell += next(chars)
        elif ch == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += ch
    return [*cells, cell.strip()]


def tables(at: AppTest) -> list:
    """The page's small tables (ui.small_table: Markdown tables) as DataFrames of the text shown."""
    import pandas as pd

    found = []
    for element in at.markdown:
        lines = str(element.value).split("\n")
        if len(lines) >= 2 and lines[0].startswith("|") and set(lines[1]) <= set("|:-"):
            rows = [_cells(line) for line in lines]
            found.append(pd.DataFrame(rows[2:], columns=rows[0]))
    return found


def charts(at: AppTest) -> dict:
    """The page's charts (app.live_chart components) by key: {key: figure as a dict}."""
    found = {}
    for element in at.get("bidi_component"):
        data = json.loads(element.proto.json)
        found[element.proto.id.rsplit("-", 1)[-1]] = json.loads(data["figure"])
    return found


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_on_sample_runs(page):
    at = app(page)
    no_errors(at)
    assert at.title[0].value


def test_overview_shows_both_runs_and_metrics():
    at = app("views/overview.py")
    no_errors(at)
    assert [s.value for s in at.subheader] == ["vanilla", "asa1"]
    labels = [m.label for m in at.metric]
    assert labels.count("accuracy") == 2 and labels.count("NASFR") == 2 and "energy (µJ)" in labels


def test_spike_features_widgets():
    at = app("views/spike_features.py")
    at.selectbox(key="layer").set_value(1).run()
    no_errors(at)
    at.slider(key="t").set_value(0).run()
    at.selectbox(key="sf_sort").set_value("firing rate").run()
    at.selectbox(key="channel").set_value(2).run()
    no_errors(at)
    assert "patterns over all timesteps:" in at.caption[0].value
    # the map-only views are images: the channel over time, then (when it has any) its ghosts, named in the text
    captions = [caption for element in at.image for caption in element.captions]
    assert "channel 2 across timesteps" in captions[0] and "t=0 ... t=" in captions[0]
    ghosts = next(m.value for m in at.markdown if str(m.value).startswith("ghost group of c2"))
    listed = ghosts.split("): ", 1)[1].split(", ") if not ghosts.endswith("none") else []
    twins = [part.split(" ")[0] for part in listed]
    # a group is linked pairs (connected channels): c2 itself reaches the threshold with at least one of them
    assert listed and max(float(part.split("(")[1].rstrip(")")) for part in listed) >= 0.8  # c2 has ghosts here
    assert captions[1:] == [f"at t=0, left to right: c2, then its ghosts {', '.join(twins)}"]
    at.checkbox(key="sf_foreground").check().run()
    at.checkbox(key="sf_play").check().run()
    no_errors(at)
    assert "black outline: the input's foreground" in at.caption[0].value
    mosaic = charts(at)["sf_grid"]
    assert "foreground" in [tr.get("name") for tr in mosaic["data"]]
    T = len(mosaic["layout"]["sliders"][0]["steps"])
    assert T > 1 and len(mosaic["frames"]) == T


def test_membrane_and_ghost_widgets():
    at = app("views/membrane.py")
    at.selectbox(key="channel").set_value(3).run()
    at.slider(key="t").set_value(1).run()
    no_errors(at)
    at = app("views/ghosts.py")
    at.slider(key="t").set_value(2).run()
    at.selectbox(key="rule_method").set_value("pearson").run()
    no_errors(at)
    assert at.metric[0].label == "ghost ratio"


def test_a_changed_chart_keeps_its_element_so_the_browser_updates_it_in_place():
    """The browser keeps a chart's element (and updates its plotly figure in place) while
    the element's id stays; a new channel changes the MPD's figure but none of the ids.
    Fig. 6 comes from the cache as the same JSON text on a miss and on a hit."""
    from app import runs as R

    def ids(at):
        return {e.proto.id.rsplit("-", 1)[-1]: e.proto.id for e in at.get("bidi_component")}

    R._fig6_figure.clear()
    at = app("views/membrane.py")
    before, figures = ids(at), charts(at)
    at.selectbox(key="channel").set_value(3).run()
    no_errors(at)
    assert ids(at) == before and set(before) == {"mp_mpd", "mp_scatter", "mp_fig6"}
    assert charts(at)["mp_mpd"] != figures["mp_mpd"] and " c3 (" in charts(at)["mp_mpd"]["layout"]["title"]["text"]
    assert charts(at)["mp_fig6"] == figures["mp_fig6"]


def test_a_click_on_a_point_opens_its_channel(monkeypatch):
    """The click callback reads the clicked point's customdata (the channel) and makes it the
    open channel; clicks on points without a channel change nothing."""
    from app import ui

    session = {"channel": 2}
    monkeypatch.setattr(ui.st, "session_state", session)
    opened = ui.open_clicked_channel("grid")
    session["grid"] = {"click": [{"curve_number": 0, "point_index": 5, "customdata": 7}]}
    opened()
    assert session["channel"] == 7
    for points in ([], [{"customdata": None}], [{"customdata": "c1"}], [{"customdata": True}], None, "x"):
        session["grid"] = {"click": points}
        opened()
        assert session["channel"] == 7
    session["grid"] = {"click": [{"customdata": 4}, {"customdata": 9.0}]}  # several points: the last one
    opened()
    assert session["channel"] == 9
    session.pop("grid")
    opened()
    assert session["channel"] == 9


def test_a_tile_chosen_elsewhere_is_framed_in_the_mosaic():
    at = app("views/spike_features.py")
    at.selectbox(key="channel").set_value(5).run()
    no_errors(at)
    frame = next(t for t in charts(at)["sf_grid"]["data"] if t.get("name") == "frame")
    assert frame["customdata"] == [5]


def test_browser_benchmark_refuses_an_unknown_interaction(capsys):
    from app.browser_benchmark import main

    with pytest.raises(SystemExit):
        main(["--only", "no such thing"])
    assert "names no interaction; they are: overview: switch run, " in capsys.readouterr().err


def _number(text: str) -> float:
    return float(str(text).replace(",", ""))


def test_compare_tables():
    """Readable names, changes in percent, every column (static tables), values equal to
    analysis.tables.table1 of the two runs."""
    from analysis.loader import load_run
    from analysis.tables import AnalysisSettings, table1

    at = app("views/compare.py")
    no_errors(at)
    # Table 1, Table 3 (the paper's), then asa1's paired intervals, pattern counts and Table 4
    assert len(tables(at)) == 5 and not at.dataframe
    t1, t3, paired, patterns, t4 = tables(at)
    runs = [load_run(REPO / "sample_runs" / f"{n}.h5") for n in ("vanilla", "asa1")]
    for run, name in zip(runs, ("vanilla", "asa1")):
        run.name = name
    want = table1(runs, AnalysisSettings())
    assert list(t3["run"]) == list(t1["run"]) == ["vanilla", "asa1"]
    assert "attention_parameters" not in t1.columns and "nasfr_change" not in t1.columns
    assert [_number(v) for v in t1["accuracy"]] == pytest.approx(list(want["accuracy"]), abs=5e-5)
    assert t1["accuracy change"][1] == f"{100 * want['accuracy_change'][1]:+.1f} pp"
    assert t1["NASFR change"][1] == f"{100 * want['nasfr_change'][1]:+.1f}%"
    assert [_number(v) for v in t1["MACs per sample"]] == list(want["macs"])
    acc = paired.set_index("measure").loc["accuracy"]
    assert _number(acc["vanilla"]) == pytest.approx(want["accuracy"][0], abs=5e-5)
    assert " pp [" in acc["change [95% interval]"] and acc["change [95% interval]"].endswith("]")
    assert 0 <= float(acc["McNemar p"]) <= 1 and paired.set_index("measure").loc["NASFR", "McNemar p"] == ""
    assert _number(paired.set_index("measure").loc["NASFR", "asa1"]) == pytest.approx(want["nasfr"][1], abs=5e-5)
    assert [_number(v) for v in t3["extra parameters"]] == list(want["attention_parameters"])
    assert [_number(v) for v in t3["Δ MACs per sample"]] == list(want["macs"] - want["macs"][0])
    assert "noise channels [vanilla]" in patterns.columns and "median PTD (U) [asa1]" in patterns.columns
    assert list(t4.columns) == ["layer", "QE (U²) [vanilla]", "QE (U²) [asa1]", "change"]
    assert all(v.endswith("%") for v in t4["change"])


def test_compare_follows_the_sidebar_and_says_which_runs_fit():
    """The sidebar's "compare with" run joins Compare's list when it changes there; with
    nothing chosen the page names the runs recorded on the reference's samples."""
    at = app("views/compare.py", session_runs={"fixture": FIXTURE, "asa1 copy": REPO / "sample_runs" / "asa1.h5"})
    assert at.multiselect(key="runs_many").value == ["asa1"]
    at.multiselect(key="runs_many").set_value([]).run()
    assert at.info[0].value == "choose runs to compare with vanilla; recorded on its samples: asa1, asa1 copy"
    at.multiselect(key="runs_many").set_value(["fixture"]).run()
    assert any("fixture left out" in e.value for e in at.error)
    assert at.info[0].value == ("none of the chosen runs was recorded on the samples of vanilla; runs that were: "
                                "asa1, asa1 copy")
    at.selectbox(key="run_b").set_value("asa1 copy").run()
    assert at.multiselect(key="runs_many").value == ["fixture", "asa1 copy"]
    assert tables(at)[0]["run"].tolist() == ["vanilla", "asa1 copy"]
    assert "QE (U²) [asa1 copy]" in tables(at)[-1].columns  # each run under its name in this session


@pytest.mark.parametrize("page", ["views/overview.py", "views/spike_features.py", "views/membrane.py",
                                  "views/ghosts.py", "views/export.py"])
def test_pages_on_the_tiny_fixture(page):
    at = app(page, session_runs={"fixture": FIXTURE})
    at.selectbox(key="run_a").set_value("fixture").run()
    if "compare with" in [s.label for s in at.selectbox]:
        at.selectbox(key="run_b").set_value("(none)").run()
    no_errors(at)


def test_corrupt_recording_is_a_readable_message(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    at = app("views/overview.py", session_runs={"bad": bad})
    at.selectbox(key="run_a").set_value("bad").run()
    assert not at.exception
    assert "not a readable HDF5 file" in at.error[0].value


def test_uploads_are_sanitised_and_size_limited(tmp_path):
    from app.uploads import UploadError, sanitize, save_upload

    assert sanitize("../../evil name.pt") == "evil_name.pt"
    assert sanitize("..\\..\\x.pt") == "x.pt" and sanitize("...") == "upload"
    path = save_upload(b"abc", "../../../etc/passwd", tmp_path / "session", "checkpoints")
    assert path == (tmp_path / "session" / "checkpoints" / "passwd").resolve() and path.read_bytes() == b"abc"
    with pytest.raises(UploadError, match="over the upload limit of 1e-06 MB"):
        save_upload(b"abcd", "a.pt", tmp_path / "session", limit_mb=1e-6)


def record_in_app(name: str, samples: int) -> AppTest:
    """A new session records the shipped ASA-1 checkpoint on the Inspect page as run `name`."""
    at = app("views/inspect.py")
    at.text_input(key="ckpt_path").set_value(str(REPO / "sample_runs" / "asa1.pt"))
    at.number_input(key="max_samples").set_value(samples)
    at.text_input(key="run_name").set_value(name)
    at.button(key="record_button").click().run()
    no_errors(at)
    return at


def test_inspect_records_a_checkpoint(tmp_path):
    at = record_in_app("mine", 10)
    assert "recorded mine.h5" in at.success[0].value
    runs = at.session_state["session_runs"]
    assert runs["mine"].exists() and "snnr-session-" in str(runs["mine"])
    at.switch_page("views/overview.py").run()
    assert at.selectbox(key="run_a").value == "mine"  # the new recording is selected on every page
    assert at.selectbox(key="run_b").value == "(none)"  # no run shares its 10 samples
    assert not at.exception and not at.error and at.subheader[0].value == "mine"
    at.selectbox(key="run_b").set_value("asa1").run()
    assert "not comparable" in at.warning[0].value and "different samples" in at.warning[0].value


@pytest.mark.parametrize("content,message", [
    (b"not a checkpoint at all", "not a readable PyTorch checkpoint"),
    ("wrong_arch", "does not match the model"),
])
def test_inspect_bad_checkpoints(tmp_path, monkeypatch, content, message):
    monkeypatch.setenv("SNNR_SERVER_ROOTS", str(tmp_path))
    path = tmp_path / "x.pt"
    if content == "wrong_arch":
        from models.checkpoint import save_checkpoint
        from models.registry import build_model

        model = build_model("lif_snn3", T=10, num_classes=5, input_size=32, widths=(16, 32, 32), hidden=128)
        save_checkpoint(path, model, {"frames": {"T": 10, "dt_ms": 30.0}})
        raw = torch.load(path, weights_only=True)
        raw["arch_args"]["widths"] = [8, 16, 16]  # a checkpoint for a different architecture than its weights
        torch.save(raw, path)
    else:
        path.write_bytes(content)
    at = app("views/inspect.py")
    at.text_input(key="ckpt_path").set_value(str(path))
    at.button(key="record_button").click().run()
    assert not at.exception
    assert message in at.error[0].value


def test_inspect_missing_data_folder():
    at = app("views/inspect.py")
    at.text_input(key="ckpt_path").set_value(str(REPO / "sample_runs" / "asa1.pt"))
    at.radio(key="data_source").set_value("folder on the server").run()
    at.text_input(key="data_folder").set_value(str(REPO / "sample_runs" / "no-such-folder"))
    at.button(key="record_button").click().run()
    assert "does not exist on the server" in at.error[0].value


def test_sessions_do_not_see_each_others_runs():
    first = record_in_app("private", 5)
    second = app("views/overview.py")
    assert "private" in first.session_state["session_runs"]
    assert "private" not in second.selectbox(key="run_a").options
    assert "session_runs" not in second.session_state and "upload_dir" not in second.session_state


def test_inspect_takes_an_authors_file_as_saved_by_their_code(monkeypatch):
    """The Inspect page names what it detected, records in their batch mode, and the
    Overview states the mask mode and batch size of the recording."""
    monkeypatch.setenv("SNNR_SERVER_ROOTS", str(REPO / "tests" / "data" / "authors"))
    at = app("views/inspect.py")
    at.text_input(key="ckpt_path").set_value(
        str(REPO / "tests" / "data" / "authors" / "sj-0.0.0.0.12" / "a_asa_r1.pth")).run()
    no_errors(at)
    assert "authors' arch A/D" in at.info[0].value and "ASA masks per batch" in at.info[0].value
    at.number_input(key="ckpt_batch").set_value(5)
    at.number_input(key="max_samples").set_value(10)
    at.text_input(key="run_name").set_value("theirs")
    at.button(key="record_button").click().run()
    no_errors(at)
    from recorder.reader import open_recording

    with open_recording(at.session_state["session_runs"]["theirs"]) as rec:
        assert rec.model["asa_mask_mode"] == "batch" and rec.model["batch_size"] == 5
    at.switch_page("views/overview.py").run()
    at.selectbox(key="run_a").set_value("theirs").run()
    assert not at.exception
    assert "ASA masks per batch of 5 (the authors' code)" in at.caption[0].value
    at = app("views/inspect.py")
    at.text_input(key="ckpt_path").set_value(
        str(REPO / "tests" / "data" / "authors" / "sj-0.0.0.0.12" / "b_asa.pth")).run()
    at.radio(key="ckpt_mask").set_value("sample").run()
    assert "authors' arch B (models/Net2.py)" in at.info[0].value and "ASA masks per sample" in at.info[0].value


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/no-such-file", "../../../etc/passwd", "/proc/self/environ"])
def test_server_paths_stay_inside_the_allowed_roots(path):
    """A path outside the roots gets the same answer whether or not it exists, so nothing
    about the server's files leaks; nothing there is read."""
    at = app("views/inspect.py")
    at.text_input(key="ckpt_path").set_value(path).run()
    assert not at.exception
    assert at.error[0].value.startswith("checkpoint path refused: the dashboard reads only inside")
    at.radio(key="data_source").set_value("folder on the server").run()
    at.text_input(key="ckpt_path").set_value(str(REPO / "sample_runs" / "asa1.pt"))
    at.text_input(key="data_folder").set_value("/etc")
    at.button(key="record_button").click().run()
    assert "data folder path refused" in at.error[0].value


def test_server_paths_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("SNNR_SERVER_PATHS", "off")
    at = app("views/inspect.py", ckpt_path=str(REPO / "sample_runs" / "asa1.pt"))  # e.g. from an old session
    assert at.text_input(key="ckpt_path").disabled
    assert "paths on the server are switched off here" in at.error[0].value


def zipped(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_of_class_folders_unpacks_safely(tmp_path):
    from app.uploads import UploadError, extract_class_zip
    from events.readers import SUFFIXES

    ok = extract_class_zip(zipped({"gestures/wave/a.npz": b"1", "gestures/clap/b.bin": b"2"}), "g.zip",
                           tmp_path / "ok", SUFFIXES)
    assert sorted(str(p.relative_to(ok)) for p in ok.rglob("*") if p.is_file()) == ["clap/b.bin", "wave/a.npz"]
    for members, message in (({"../../etc/x.npz": b"1"}, "is not <class>/<file>"),
                             ({"wave/../../x.npz": b"1"}, "is not <class>/<file>"),
                             ({"wave/a.exe": b"1"}, "is not an event file"),
                             ({"a.npz": b"1"}, "is not <class>/<file>"),
                             ({"wave/a.npz": bytes(3 * 2**20)}, "unpacks to more than 1 MB")):
        with pytest.raises(UploadError, match=message):
            extract_class_zip(zipped(members), "bad.zip", tmp_path / "bad", SUFFIXES, limit_mb=1)
    with pytest.raises(UploadError, match="not a readable zip archive"):
        extract_class_zip(b"PK\x03\x04 nonsense", "x.zip", tmp_path / "x", SUFFIXES)


def test_choices_hold_across_pages_and_in_the_url():
    at = app("views/spike_features.py")
    at.selectbox(key="layer").set_value(2).run()
    at.selectbox(key="channel").set_value(5).run()
    at.slider(key="t").set_value(3).run()
    at.number_input(key="rule_ratio").set_value(2.0).run()
    at.selectbox(key="run_a").set_value("asa1").run()
    no_errors(at)
    at.switch_page("views/membrane.py").run()
    no_errors(at)
    assert at.selectbox(key="layer").value == 2 and at.selectbox(key="channel").value == 5
    assert at.slider(key="t").value == 3 and at.number_input(key="rule_ratio").value == 2.0
    assert at.selectbox(key="run_a").value == "asa1"
    at.switch_page("views/ghosts.py").run()
    assert at.slider(key="t").value == 3 and at.selectbox(key="layer").value == 2
    params = dict(at.query_params)
    assert (params["run"], params["layer"], params["channel"], params["t"]) == ("asa1", "2", "5", "3")
    fresh = AppTest.from_file(APP, default_timeout=120)  # a shared link: a new session opens the same view
    fresh.query_params.update({"run": "asa1", "layer": "1", "channel": "7", "t": "4", "noise_ratio": "1.5"})
    fresh.switch_page("views/spike_features.py")
    fresh.run()
    no_errors(fresh)
    assert fresh.selectbox(key="run_a").value == "asa1" and fresh.selectbox(key="layer").value == 1
    assert fresh.selectbox(key="channel").value == 7 and fresh.slider(key="t").value == 4
    assert fresh.number_input(key="rule_ratio").value == 1.5


def test_a_hand_edited_url_falls_back_to_defaults():
    fresh = AppTest.from_file(APP, default_timeout=120)
    fresh.query_params.update({"run": "nope", "layer": "99", "t": "x", "channel": "-3"})
    fresh.switch_page("views/spike_features.py")
    fresh.run()
    no_errors(fresh)
    assert fresh.selectbox(key="run_a").value == "vanilla" and fresh.selectbox(key="layer").value == 0


def test_runs_on_other_data_are_refused_for_comparison():
    """The tiny fixture was recorded on other data than the sample runs: Compare leaves it out
    with what differs; Fig. 6 refuses the pair."""
    at = app("views/compare.py", session_runs={"fixture": FIXTURE})
    at.multiselect(key="runs_many").set_value(["asa1", "fixture"]).run()
    assert not at.exception
    assert any("fixture left out" in e.value and "cannot compare" in e.value for e in at.error)
    assert len(tables(at)) == 5  # Tables 1 and 3 of vanilla and asa1, asa1's intervals, pattern counts, Table 4
    table1 = tables(at)[0]
    assert list(table1["run"]) == ["vanilla", "asa1"]
    at = app("views/membrane.py", session_runs={"fixture": FIXTURE})
    at.selectbox(key="run_b").set_value("fixture").run()
    assert any("Fig. 6 compares runs on the same samples" in e.value for e in at.error)


def test_fully_connected_layers_are_strips_without_patterns():
    at = app("views/spike_features.py")
    at.selectbox(key="layer").set_value(3).run()
    no_errors(at)
    assert any("fully connected layer has no map" in i.value for i in at.info)
    assert "patterns over all timesteps" not in at.caption[0].value
    at.switch_page("views/ghosts.py").run()
    assert 3 not in at.selectbox(key="layer").options and "3: lif_fc1 (128, 1, 1) fully connected" not in \
        at.selectbox(key="layer").options
    from analysis.loader import load_run
    from analysis.tables import channel_table

    table = channel_table(load_run(REPO / "sample_runs" / "vanilla.h5"), 3)
    assert set(table["pattern"]) <= {"fc", "null"}
    assert (table["pattern"] == "null").sum() == (table["firing_rate"] < 0.001).sum()


def test_an_existing_run_name_asks_before_it_is_replaced():
    at = record_in_app("twice", 5)
    first = at.session_state["session_runs"]["twice"].stat().st_mtime_ns
    at.button(key="record_button").click().run()
    assert "a run named 'twice' exists" in at.error[0].value
    assert at.session_state["session_runs"]["twice"].stat().st_mtime_ns == first
    at.checkbox(key="replace_run").check().run()
    at.button(key="record_button").click().run()
    no_errors(at)
    assert at.session_state["session_runs"]["twice"].stat().st_mtime_ns != first


def test_samples_page_shows_a_raster_and_a_u_trace():
    at = app("views/samples.py")
    no_errors(at)
    assert at.title[0].value == "Samples" and "mean spikes per sample" in at.caption[0].value
    shown = charts(at)
    assert list(shown) == ["smp_spikes", "smp_input", "smp_raster", "smp_u"]
    assert shown["smp_raster"]["layout"]["title"]["text"].startswith("Spike raster of blocks.0.lif")
    assert any(t.get("name") == "spike" for t in shown["smp_u"]["data"])


def test_silence_channels_page_runs_an_experiment_and_shows_it(tmp_path):
    """The page re-runs the run's checkpoint (found beside the recording) with the noise
    channels silenced and keeps the result beside the recording."""
    import shutil

    for suffix in (".h5", ".pt"):
        shutil.copy(REPO / "sample_runs" / f"vanilla{suffix}", tmp_path / f"vanilla{suffix}")
    at = app("views/ablation.py", session_runs={"mine": tmp_path / "vanilla.h5"})
    at.selectbox(key="run_a").set_value("mine").run()
    no_errors(at)
    at.multiselect(key="abl_select").set_value(["noise", "rate top K"])
    at.number_input(key="abl_draws").set_value(2)
    at.multiselect(key="abl_orders").set_value(["rate"])
    at.number_input(key="abl_step").set_value(40)
    at.text_input(key="abl_name").set_value("t")
    at.button[0].click().run()
    no_errors(at)
    assert sorted(p.name for p in (tmp_path / "vanilla.ablations").iterdir()) == ["t.csv", "t.json", "t_sweep.csv",
                                                                                 "t_sweep.json"]
    assert [s.value for s in at.subheader][:2] == ["t", "t_sweep"]
    selections = at.dataframe[0].value
    assert list(selections["selection"]) == ["none", "noise", "noise random", "rate top 8", "rate top 8 random"]
    assert selections["channels"].tolist()[3] == 8
    sweep = next(iter(charts(at).values()))
    assert [tr["name"] for tr in sweep["data"]] == ["rate"]


def test_inspect_takes_a_nir_graph_and_records_it(tmp_path, monkeypatch):
    from models.loader import load_model_file
    from models.nir_io import export_nir

    export_nir(load_model_file(REPO / "sample_runs" / "vanilla.pt").model, tmp_path / "vanilla.nir")
    monkeypatch.setenv("SNNR_SERVER_ROOTS", str(tmp_path))
    at = app("views/inspect.py")
    at.text_input(key="ckpt_path").set_value(str(tmp_path / "vanilla.nir")).run()
    assert any("does not fix the number of timesteps; give --T" in e.value for e in at.error)
    at.number_input(key="ckpt_T").set_value(10).run()
    no_errors(at)
    assert at.info[0].value.startswith("NIR graph: 13 nodes (Conv2d, LIF, ")
    facts = at.table[0].value
    assert facts.loc["architecture", "value"] == "nir" and "blocks_0_lif:LIF" in facts.loc["NIR nodes", "value"]
    at.number_input(key="max_samples").set_value(10)
    at.text_input(key="run_name").set_value("from_nir")
    at.button(key="record_button").click().run()
    no_errors(at)
    assert "recorded from_nir.h5" in at.success[0].value


def test_table_text_readable_names_and_changes_in_percent():
    import pandas as pd

    from app.help import readable
    from app.ui import markdown_table, number_text

    assert number_text([2949120.0, 3005504.0]) == ["2,949,120", "3,005,504"]
    assert number_text([0.71, 1.0, float("nan")]) == ["0.7100", "1.0000", "–"]
    assert number_text([23.16005, 18.7]) == ["23.16", "18.70"]
    assert number_text([10660111.78, 5.5]) == ["10,660,112", "6"]
    assert number_text([0.5, 3e-5, -0.0, -1e-9]) == ["0.5000", "3e-05", "0.0000", "-1e-09"]  # never a bare 0 or -0
    hostile = pd.DataFrame({"a|b": ["-", " + ", "-42% [-43, -41]", "*x* <b>y</b> $z$ :red[w]", "c\\d|", "two\nlines"],
                            "n": [1, 2, 3, 4, 5, 6]})
    text = markdown_table(hostile)
    assert text.count("\n") == 7 and text.split("\n")[1] == "|:---|---:|"  # one line a row, numbers right
    assert [_cells(line) for line in text.split("\n")[2:]] == [
        ["-", "1"], ["+", "2"], ["-42% [-43, -41]", "3"], ["*x* <b>y</b> $z$ :red[w]", "4"], ["c\\d|", "5"],
        ["two lines", "6"]]
    table = pd.DataFrame({"run": ["a", "b"], "accuracy_change": [0.0, 0.29], "nasfr_change": [0.0, -0.505162],
                          "qe [a]": [0.5, 0.4], "change": [float("nan"), -0.25]})
    assert list(readable(table)["change"].iloc[1:]) == [-0.25]  # only where asked: elsewhere "change" means either
    shown = readable(table, changes=True)
    assert list(shown.columns) == ["run", "accuracy change", "NASFR change", "QE (U²) [a]", "change"]
    assert list(shown["accuracy change"]) == ["+0.0 pp", "+29.0 pp"]
    assert list(shown["NASFR change"]) == ["+0.0%", "-50.5%"] and list(shown["change"]) == ["–", "-25.0%"]
    assert list(table["accuracy_change"]) == [0.0, 0.29]  # the caller's table is left alone
