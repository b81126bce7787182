"""The `unrolled` command: `unrolled serve` and `unrolled view trace.npz`."""

from __future__ import annotations

import argparse
from importlib.util import find_spec
import sys
import threading
import webbrowser
from pathlib import Path
from urllib.parse import urlencode

from server.presets import PRESET_NAMES
from server.settings import settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unrolled", description="RNNs unrolled in time, in the browser.")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        p.add_argument("--open", action="store_true", help="open the page in a browser")

    serve = commands.add_parser("serve", help="serve the visualizer")
    common(serve)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--preset", choices=PRESET_NAMES, help="the preset the opened page starts with")
    view = commands.add_parser("view", help="open a trace saved with engine's trace.save(path)")
    common(view)
    view.add_argument("trace", type=Path, help="a .npz file written by Trace.save")
    return parser


def _warn_if_public(host: str) -> None:
    if host not in LOCAL_HOSTS:
        print(
            f"\n*** WARNING: binding {host} exposes Unrolled to every machine that can reach "
            "this one. It has no authentication, and each visitor can make it compute "
            f"(up to {settings.max_streams} traces at once per worker). ***\n",
            file=sys.stderr,
        )


def _warn_without_websockets() -> None:
    """uvicorn answers every socket with 404 when no websocket library is installed."""
    if find_spec("websockets") is None and find_spec("wsproto") is None:
        print("\n*** WARNING: no websocket library is installed, so the page's live stream "
              "(/ws/trace) cannot work: pip install websockets ***\n", file=sys.stderr)


def _page_url(host: str, port: int, preset: str | None) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    query = f"?{urlencode({'preset': preset})}" if preset else ""
    return f"http://{shown}:{port}/{query}"


def _open_later(url: str) -> None:
    """Open the browser once the server has had a moment to start."""
    timer = threading.Timer(1.0, webbrowser.open, args=(url,))
    timer.daemon = True
    timer.start()


def load_saved_trace(path: Path):
    """Load a trace file for `unrolled view`; SystemExit with a clear message when it cannot."""
    import engine

    if not path.is_file():
        raise SystemExit(f"unrolled view: no such file: {path}")
    size_mb = path.stat().st_size / 2**20
    if size_mb > settings.max_trace_file_mb:
        raise SystemExit(
            f"unrolled view: {path} is {size_mb:.0f} MB; the limit is {settings.max_trace_file_mb} MB "
            "(raise it with UNROLLED_MAX_TRACE_FILE_MB)"
        )
    try:
        return engine.load_trace(path)
    except ValueError as exc:
        raise SystemExit(f"unrolled view: {path}: {exc}") from None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `unrolled` console script."""
    args = _parser().parse_args(argv)
    import uvicorn

    _warn_if_public(args.host)
    _warn_without_websockets()
    url = _page_url(args.host, args.port, getattr(args, "preset", None))
    if args.command == "view":
        from server.app import create_app

        trace = load_saved_trace(args.trace)
        app = create_app(loaded_trace=(trace, args.trace.name))
        print(f"Unrolled: viewing {args.trace} at {url}", file=sys.stderr)
        if args.open:
            _open_later(url)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
        return
    if args.workers < 1:
        raise SystemExit("unrolled serve: --workers must be at least 1")
    print(f"Unrolled: serving at {url}", file=sys.stderr)
    if args.open:
        _open_later(url)
    # An import string lets uvicorn start several worker processes.
    uvicorn.run("server.app:app", host=args.host, port=args.port, workers=args.workers, log_level="info")


if __name__ == "__main__":
    main(sys.argv[1:])
