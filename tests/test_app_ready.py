"""app.ready, the warm start ./dashboard.sh runs beside the server: it finds the server as
Streamlit finds its settings, runs the real app once through the script health check, stops
when its server exits, and says in one line why it could not (no server, no health check, a
failing or stopped trial run)."""

import socket

import pytest
from streamlit import config

from app import browser as B
from app import ready


@pytest.fixture
def clean_settings(monkeypatch):
    """No STREAMLIT_SERVER_* variables; Streamlit's settings of this process parsed again afterwards."""
    for key in ("PORT", "BASE_URL_PATH", "ADDRESS", "SSL_CERT_FILE"):
        monkeypatch.delenv(f"STREAMLIT_SERVER_{key}", raising=False)
    yield
    config.get_config_options(force_reparse=True)


def test_base_url_from_the_server_settings():
    assert ready.base_url() == "http://127.0.0.1:8501"
    assert ready.base_url(8597, "/snn/", "0.0.0.0") == "http://127.0.0.1:8597/snn"
    assert ready.base_url(8597, "", "10.1.2.3", https=True) == "https://10.1.2.3:8597"
    assert ready.base_url(8597, "", "::1") == "http://[::1]:8597"
    with pytest.raises(ready.ReadyError, match="listens on a unix socket .*needs a TCP port"):
        ready.base_url(8597, "", "unix:///tmp/snn.sock")


@pytest.mark.parametrize("argv, env, url", [
    ([], {}, "http://127.0.0.1:8501"),  # this repository's .streamlit/config.toml
    (["--server.port", "8597", "--server.headless", "true"], {}, "http://127.0.0.1:8597"),
    (["--server.port=8600", "--server.baseUrlPath=snn", "--server.address", "::"], {}, "http://127.0.0.1:8600/snn"),
    ([], {"STREAMLIT_SERVER_PORT": "8700", "STREAMLIT_SERVER_BASE_URL_PATH": "/a/b/"}, "http://127.0.0.1:8700/a/b"),
    (["--server.port", "8701"], {"STREAMLIT_SERVER_PORT": "8700"}, "http://127.0.0.1:8701"),  # the flag wins
    (["--server.sslCertFile", "cert.pem"], {}, "https://127.0.0.1:8501"),
])
def test_server_found_as_streamlit_finds_it(clean_settings, monkeypatch, argv, env, url):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert ready.server_url(argv) == url


def test_server_settings_from_the_config_file(clean_settings, monkeypatch, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text('[server]\nport = 8777\nbaseUrlPath = "lab"\n')
    monkeypatch.chdir(tmp_path)
    assert ready.server_url([]) == "http://127.0.0.1:8777/lab"
    assert ready.server_url(["--server.port", "8778"]) == "http://127.0.0.1:8778/lab"


def test_bad_port_in_one_line(clean_settings, monkeypatch, capsys):
    monkeypatch.setenv("STREAMLIT_SERVER_PORT", "abc")
    assert ready.main([]) == 1
    assert capsys.readouterr().err == ("dashboard not prepared: the server port 'abc' (--server.port or "
                                       "STREAMLIT_SERVER_PORT) is not a number; give one, e.g. 8501\n")


def test_cli_prints_one_line(clean_settings, monkeypatch, capsys):
    asked = []
    monkeypatch.setattr(ready, "warm_start", lambda url, alive: asked.append((url, alive())) or 4.25)
    assert ready.main(["--server.port", "8597"]) == 0
    assert asked == [("http://127.0.0.1:8597", True)]
    assert capsys.readouterr().out == "dashboard ready at http://127.0.0.1:8597 (first page prepared in 4.2 s)\n"

    def fails(url, alive):
        raise ready.ReadyError(f"no dashboard answered at {url} within 1 s")
    monkeypatch.setattr(ready, "warm_start", fails)
    assert ready.main(["--server.port", "8597"]) == 1
    assert capsys.readouterr().err == "dashboard not prepared: no dashboard answered at http://127.0.0.1:8597 within 1 s\n"

    def gone(url, alive):
        raise ready.ServerGone("the server has exited")
    monkeypatch.setattr(ready, "warm_start", gone)
    assert ready.main(["--server.port", "8597"]) == 0
    assert capsys.readouterr() == ("", "")  # the server says why it stopped


def _dead_port() -> int:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_server():
    port = _dead_port()
    with pytest.raises(ready.ReadyError, match=f"no dashboard answered at http://127.0.0.1:{port} within 1 s"):
        ready.warm_start(ready.base_url(port), start_timeout_s=1)


def test_stops_when_its_server_exits():
    answers = iter([True, False])
    with pytest.raises(ready.ServerGone):
        ready.warm_start(ready.base_url(_dead_port()), start_timeout_s=60, alive=lambda: next(answers))


@pytest.mark.parametrize("answer, message", [
    ((503, b"timeout"), "took over Streamlit's 60 s and was stopped; the first visitor will wait for the rest"),
    ((503, b"error"), r"trial run failed \(error\); open the dashboard to see the error"),
    ((200, b"<!doctype html>"), r"no script health check: set scriptHealthCheckEnabled = true under \[server\]"),
])
def test_what_the_trial_run_answered(monkeypatch, answer, message):
    """Streamlit's answers (runtime.does_script_run_without_error): 503 'timeout' or 'error';
    a server without the check serves its page for the unknown path."""
    monkeypatch.setattr(ready, "_get", lambda url, timeout_s: (200, b"ok") if url.endswith("/health") else answer)
    with pytest.raises(ready.ReadyError, match=message):
        ready.warm_start("http://127.0.0.1:1")


def test_real_app_runs_once():
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
