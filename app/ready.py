"""Prepare the dashboard's first page as soon as its server is up, before anyone opens it.

The first page after a server start imports torch and the analysis, traces the recorded
architectures for the energy model and computes the overview's tables: about 5 s here, which
the first visitor would otherwise wait for on top of the browser's own start. Streamlit's
script health check (server.scriptHealthCheckEnabled, on in .streamlit/config.toml) runs the
app once in a bare session; that run fills the same caches the pages read, and its
warm-up plan (app.warm) then prepares the other pages. ./dashboard.sh starts this beside the
server, with the server's own arguments:

    .venv/bin/python -m app.ready [--server.port 8501] [--server.baseUrlPath PATH] [--server.address HOST]

The server is found as Streamlit finds its settings: flags, then STREAMLIT_SERVER_* variables,
then .streamlit/config.toml here and in the home folder. Prints one line when the first page
is ready, or one line saying why it is not; the dashboard itself keeps running either way.
Started by dashboard.sh, it stops without a word when the server it was started beside exits.
"""

from __future__ import annotations

import argparse
import http.client
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Callable

# Streamlit ends a script health check's run after this long (runtime.SCRIPT_RUN_CHECK_TIMEOUT)
STREAMLIT_CHECK_LIMIT_S = 60


class ReadyError(RuntimeError):
    """The server did not come up, or the app's trial run failed."""


class ServerGone(ReadyError):
    """The server this was started beside has exited."""


def base_url(port: int = 8501, base_path: str = "", address: str | None = None, https: bool = False) -> str:
    """The server's URL as this machine reaches it: all interfaces ('0.0.0.0', '::', unset)
    are reached on 127.0.0.1."""
    if address and address.startswith("unix://"):
        raise ReadyError(f"the server listens on a unix socket ({address}); app.ready needs a TCP port: "
                         "prepare it by opening the dashboard once")
    host = "127.0.0.1" if address in (None, "", "0.0.0.0", "::") else address
    host = f"[{host}]" if ":" in host else host
    path = base_path.strip("/")
    return f"{'https' if https else 'http'}://{host}:{port}" + (f"/{path}" if path else "")


def server_url(argv: list[str], environ=os.environ) -> str:
    """The URL of the server that `streamlit run app/main.py *argv` starts, its settings read
    in Streamlit's own order (flags, STREAMLIT_SERVER_* variables, config files)."""
    from streamlit import config

    p = argparse.ArgumentParser(add_help=False)
    for flag, variable in (("port", "PORT"), ("baseUrlPath", "BASE_URL_PATH"), ("address", "ADDRESS"),
                           ("sslCertFile", "SSL_CERT_FILE")):
        p.add_argument(f"--server.{flag}", dest=flag, default=environ.get(f"STREAMLIT_SERVER_{variable}") or None)
    args, _ = p.parse_known_args(argv)  # the other arguments are the server's
    flags = {f"server.{k}": v for k, v in vars(args).items() if v is not None}
    if "server.port" in flags:
        if not str(flags["server.port"]).isdigit():
            raise ReadyError(f"the server port {flags['server.port']!r} (--server.port or STREAMLIT_SERVER_PORT) is not "
                             "a number; give one, e.g. 8501")
        flags["server.port"] = int(flags["server.port"])
    config.get_config_options(force_reparse=True, options_from_flags=flags)
    return base_url(int(config.get_option("server.port")), config.get_option("server.baseUrlPath") or "",
                    config.get_option("server.address"), https=bool(config.get_option("server.sslCertFile")))


def _opener() -> urllib.request.OpenerDirector:
    """Never through a proxy (the server is on this machine); an https server's own certificate
    is taken as it is (it names this machine's public name, not 127.0.0.1)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))


_OPENER = _opener()


def _get(url: str, timeout_s: float) -> tuple[int, bytes]:
    """(HTTP status, body); OSError when nothing usable answered."""
    try:
        with _OPENER.open(url, timeout=timeout_s) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (http.client.HTTPException, ValueError) as exc:  # e.g. http on an https port
        raise OSError(f"{type(exc).__name__}: {exc}") from None


def wait_until_up(url: str, start_timeout_s: float, alive: Callable[[], bool] = lambda: True) -> None:
    """Return once the server at `url` answers its health check; ReadyError after
    start_timeout_s, ServerGone as soon as alive() turns false."""
    deadline = time.monotonic() + start_timeout_s
    while True:
        if not alive():
            raise ServerGone("the server has exited")
        try:
            if _get(f"{url}/_stcore/health", 2.0) == (200, b"ok"):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ReadyError(f"no dashboard answered at {url} within {start_timeout_s:.0f} s; is it running on that "
                             "port and path (--server.port, --server.baseUrlPath)?")
        time.sleep(0.3)


def warm_start(url: str, start_timeout_s: float = 120.0, alive: Callable[[], bool] = lambda: True) -> float:
    """Wait until the server at `url` is up (wait_until_up), then run the app once through its
    script health check. Returns the seconds that run took. ReadyError says why there was
    none; ServerGone when alive() turns false."""
    wait_until_up(url, start_timeout_s, alive)
    started = time.perf_counter()
    try:
        status, body = _get(f"{url}/_stcore/script-health-check", STREAMLIT_CHECK_LIMIT_S + 30)
    except OSError as exc:
        raise ReadyError(f"the first page's trial run at {url} got no answer ({exc}); open the dashboard to see "
                         "it") from None
    if not alive():
        raise ServerGone("the server has exited")
    answer = body.decode(errors="replace").strip()
    if status == 200 and answer == "ok":
        return time.perf_counter() - started
    if status in (200, 404):  # 200: the app's own page, served for any path the server does not know
        raise ReadyError("the server offers no script health check: set scriptHealthCheckEnabled = true under "
                         "[server] in .streamlit/config.toml")
    if answer == "timeout":
        raise ReadyError(f"the first page's trial run took over Streamlit's {STREAMLIT_CHECK_LIMIT_S} s and was "
                         "stopped; the first visitor will wait for the rest")
    raise ReadyError(f"the first page's trial run failed ({answer[:80] or status}); open the dashboard to see the "
                     "error")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    parent = os.getppid()  # under dashboard.sh: the server (the shell execs it)
    try:
        url = server_url(argv)
        seconds = warm_start(url, alive=lambda: os.getppid() == parent)
    except ServerGone:
        return 0  # the server said why it stopped
    except ReadyError as exc:
        print(f"dashboard not prepared: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"dashboard ready at {url} (first page prepared in {seconds:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
