"""app.ready, the warm start ./dashboard.sh runs beside the server: it finds the server from
Streamlit's own flags, runs the real app once through the script health check, and says in
one line why it could not (no server, no health check, a failing app)."""

import socket

import pytest

from app import browser as B
from app import ready


def test_base_url_from_the_server_settings():
    assert ready.base_url() == "http://127.0.0.1:8501"
    assert ready.base_url(8597, "/snn/", "0.0.0.0") == "http://127.0.0.1:8597/snn"
    assert ready.base_url(8597, "", "10.1.2.3") == "http://10.1.2.3:8597"
    assert ready.base_url(8597, "", "::1") == "http://[::1]:8597"


@pytest.mark.parametrize("argv, env, url", [
    ([], {}, "http://127.0.0.1:8501"),
    (["--server.port", "8597", "--server.headless", "true"], {}, "http://127.0.0.1:8597"),
    (["--server.port=8600", "--server.baseUrlPath=snn"], {}, "http://127.0.0.1:8600/snn"),
    ([], {"STREAMLIT_SERVER_PORT": "8700"}, "http://127.0.0.1:8700"),
])
def test_cli_reads_streamlit_flags(monkeypatch, capsys, argv, env, url):
    for key in ("STREAMLIT_SERVER_PORT", "STREAMLIT_SERVER_BASE_URL_PATH", "STREAMLIT_SERVER_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    asked = []
    monkeypatch.setattr(ready, "warm_start", lambda u: asked.append(u) or 4.25)
    assert ready.main(argv) == 0
    assert asked == [url]
    assert capsys.readouterr().out == f"dashboard ready at {url} (first page prepared in 4.2 s)\n"


def test_cli_says_why_in_one_line(monkeypatch, capsys):
    def fails(url):
        raise ready.ReadyError(f"no dashboard answered at {url} within 1 s")
    monkeypatch.setattr(ready, "warm_start", fails)
    assert ready.main(["--server.port", "8597"]) == 1
    err = capsys.readouterr().err
    assert err == "dashboard not prepared: no dashboard answered at http://127.0.0.1:8597 within 1 s\n"


def test_no_server():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ready.ReadyError, match=f"no dashboard answered at http://127.0.0.1:{port} within 1 s"):
        ready.warm_start(ready.base_url(port), start_timeout_s=1)


def test_real_app_runs_once(tmp_path):
    with B.app_server() as url:
        assert ready.warm_start(url) > 0


def test_failing_app_and_missing_health_check(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("import streamlit as st\nst.write('before')\nraise RuntimeError('broken on purpose')\n")
    with B.app_server(script=str(script)) as url:
        with pytest.raises(ready.ReadyError, match=r"trial run failed \(error\); open the dashboard to see the error"):
            ready.warm_start(url)
    with B.app_server(script=str(script), env={"STREAMLIT_SERVER_SCRIPT_HEALTH_CHECK_ENABLED": "false"}) as url:
        with pytest.raises(ready.ReadyError, match="set scriptHealthCheckEnabled = true under \\[server\\]"):
            ready.warm_start(url)
