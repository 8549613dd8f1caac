"""Prepare the dashboard's first page as soon as its server is up, before anyone opens it.

The first page after a server start imports torch and the analysis, traces the recorded
architectures for the energy model and computes the overview's tables: about 5 s here, which
the first visitor would otherwise wait for on top of the browser's own start. Streamlit's
script health check (server.scriptHealthCheckEnabled, on in .streamlit/config.toml) runs the
app once in a bare session; that run fills the same caches the pages read, and its
warm-up plan (app.warm) then prepares the other pages. ./dashboard.sh starts this beside the
server:

    .venv/bin/python -m app.ready [--server.port 8501] [--server.baseUrlPath PATH] [--server.address HOST]

It prints one line when the first page is ready, or one line saying why it is not (the
dashboard itself keeps running either way).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request

DEFAULT_PORT = 8501


class ReadyError(RuntimeError):
    """The server did not come up, or the app's trial run failed."""


def base_url(port: int | None = None, base_path: str = "", address: str | None = None) -> str:
    """The server's URL as this machine reaches it: all interfaces ('0.0.0.0', '::', unset)
    are reached on 127.0.0.1."""
    host = "127.0.0.1" if address in (None, "", "0.0.0.0", "::") else address
    host = f"[{host}]" if ":" in host else host
    path = base_path.strip("/")
    return f"http://{host}:{port or DEFAULT_PORT}" + (f"/{path}" if path else "")


def _get(url: str, timeout_s: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def warm_start(url: str, start_timeout_s: float = 120.0, run_timeout_s: float = 90.0) -> float:
    """Wait until the server at `url` answers its health check (at most start_timeout_s),
    then run the app once through its script health check. Returns the seconds that run
    took; ReadyError says why there was none."""
    deadline = time.monotonic() + start_timeout_s
    while True:
        try:
            if _get(f"{url}/_stcore/health", 2.0) == (200, b"ok"):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ReadyError(f"no dashboard answered at {url} within {start_timeout_s:.0f} s; is it running on that "
                             "port and path (--server.port, --server.baseUrlPath)?")
        time.sleep(0.3)
    started = time.perf_counter()
    try:
        status, body = _get(f"{url}/_stcore/script-health-check", run_timeout_s)
    except OSError as exc:
        raise ReadyError(f"the first page's trial run at {url} did not answer ({exc}); open the dashboard to see "
                         "it") from None
    if status == 200 and body.strip() == b"ok":
        return time.perf_counter() - started
    if status in (200, 404):  # 200: the app's own page, served for any path the server does not know
        raise ReadyError("the server offers no script health check: set scriptHealthCheckEnabled = true under "
                         "[server] in .streamlit/config.toml")
    raise ReadyError(f"the first page's trial run failed ({body.decode(errors='replace').strip()[:80] or status}); "
                     "open the dashboard to see the error")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.ready", description=__doc__.split("\n\n")[0])
    p.add_argument("--server.port", dest="port", type=int,
                   default=os.environ.get("STREAMLIT_SERVER_PORT") or str(DEFAULT_PORT))
    p.add_argument("--server.baseUrlPath", dest="base_path", default=os.environ.get("STREAMLIT_SERVER_BASE_URL_PATH", ""))
    p.add_argument("--server.address", dest="address", default=os.environ.get("STREAMLIT_SERVER_ADDRESS"))
    args, _ = p.parse_known_args(argv)  # the other options are the server's
    url = base_url(args.port, args.base_path, args.address)
    try:
        seconds = warm_start(url)
    except ReadyError as exc:
        print(f"dashboard not prepared: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"dashboard ready at {url} (first page prepared in {seconds:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
