"""The `unrolled` command: `unrolled serve`, `unrolled view trace.npz` and
`unrolled view model.npz --input seq.npy [--targets y.npy] [--cell lstm] [--loss mse] [--readout final_state]`
(or `unrolled view model.onnx --input seq.npy [--targets y.npy] [--lengths lens.npy]`)."""

from __future__ import annotations

import argparse
import dataclasses
from importlib.util import find_spec
import os
import sys
import threading
import webbrowser
from pathlib import Path
from urllib.parse import urlencode

from unrolled.server.config import CELLS as CELL_NAMES
from unrolled.server.presets import PRESET_NAMES
from unrolled.server.settings import Settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def uvicorn_hardening(settings: Settings) -> dict:
    """uvicorn's options that bound what one client can make the server hold."""
    return {
        # a client message bigger than this is refused with close code 1009 before it is buffered
        # (uvicorn's default is 16 MiB per message: 1.6 GB for 100 hostile sockets)
        "ws_max_size": settings.max_message_bytes,
        # Ctrl-C: sockets get their close frame at once; a running request gets at most 5 s more
        "timeout_graceful_shutdown": 5,
        # beyond this many open connections uvicorn answers 503 instead of accepting more
        "limit_concurrency": 1024,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unrolled", description="RNNs unrolled in time, in the browser.")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        p.add_argument("--open", action="store_true", help="open the page in a browser")
        p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="also answer requests whose Host is NAME (repeatable; by default only 127.0.0.1, "
                            "localhost, ::1 and --host: a defence against DNS rebinding)")

    serve = commands.add_parser("serve", help="serve the visualizer")
    common(serve)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--preset", choices=PRESET_NAMES, help="the preset the opened page starts with")
    view = commands.add_parser(
        "view", help="open a trace saved with engine's trace.save(path), or your own model on an input",
        description="Open a saved trace (trace.npz), or record one of your own model: a .npz of a torch "
                    "state dict (np.savez(path, **{k: v.numpy() for k, v in module.state_dict().items()})) "
                    "run on --input, or an ONNX model (model.onnx: torch.onnx.export(..., external_data=False); "
                    "parsed, never run; needs pip install 'unrolled[onnx]'). A .pt file is never opened (it would "
                    "mean unpickling). Without --targets the loss is cross_entropy against the model's own "
                    "argmax at every step (with --loss mse: a zero target).")
    common(view)
    view.add_argument("trace", type=Path, help="a .npz written by Trace.save, or a model: a state dict .npz or an "
                                               ".onnx file (with --input)")
    view.add_argument("--input", type=Path, help="the model's input, an .npy of shape (T, input_size) or (T, B, input_size) "
                                                 "(a batch-first ONNX model: (B, T, input_size); token ids: (T, B))")
    view.add_argument("--targets", type=Path, help="an .npy of class ids (T[, B]) (-100: no loss) or mse targets (T[, B], O)")
    view.add_argument("--lengths", type=Path, help="an .npy of the B sequence lengths of a padded batch")
    view.add_argument("--batch-first", action="store_true",
                      help="--input (and --targets) are (B, T, ...), as a batch_first=True module reads them")
    view.add_argument("--cell", choices=CELL_NAMES, help="the model's cell (default: read off weight_hh_l0; rnn means rnn_tanh)")
    view.add_argument("--loss", choices=("cross_entropy", "mse"), help="default: from the targets' dtype, else cross_entropy")
    view.add_argument("--readout", choices=("per_step", "final_state"),
                      help="what a state dict's head reads: every step (per_step, the default) or "
                           "head(cat(h_n[-2], h_n[-1])) (final_state; --targets then holds one id per sequence). "
                           "An ONNX graph says which itself")
    _export_parser(commands)
    return parser


# ---- `unrolled export` (server/export.py) -----------------------------------------------------------

def _export_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export", help="write one self-contained HTML page (no server, no network) of a preset, lesson, config or trace",
        description="Record a run (or a lesson's runs) and write one HTML file with the page, plotly.js and the "
                    "recorded events inlined: open it from file://, put it on any static host. It replays; it "
                    "cannot compute new runs.")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", choices=PRESET_NAMES, help="a preset")
    source.add_argument("--lesson", help="a guided lesson (see the README's Lessons)")
    source.add_argument("--config", help='a config as JSON, e.g. \'{"preset": "char-lm", "seq_len": 10}\'')
    source.add_argument("trace", nargs="?", type=Path, help="a .npz written by Trace.save")
    export.add_argument("-o", "--output", type=Path, help="the file to write (default: NAME.html here)")


def export_command(args: argparse.Namespace, settings: Settings) -> Path:
    """Write the page `unrolled export` asks for; SystemExit with a message for a bad source."""
    import json

    from pydantic import ValidationError

    from unrolled.server import export

    try:
        if args.preset:
            html, stem = export.export_preset(args.preset, settings), args.preset
        elif args.lesson:
            html, stem = export.export_lesson(args.lesson, settings), args.lesson
        elif args.config:
            html, stem = export.export_config(json.loads(args.config), settings), "unrolled"
        else:
            html, stem = export.export_trace(load_saved_trace(args.trace, settings), args.trace.name, settings), args.trace.stem
    except (ValueError, KeyError) as exc:   # ValidationError and JSONDecodeError are ValueErrors
        detail = str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)
        if isinstance(exc, ValidationError):
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"unrolled export: {detail}") from None
    path = args.output or Path(f"{stem}.html")
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise SystemExit(f"unrolled export: cannot write {path}: {exc.strerror}") from None
    print(f"unrolled export: wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return path


def _warn_if_public(host: str, settings: Settings) -> None:
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


def load_saved_trace(path: Path, settings: Settings):
    """Load a trace file for `unrolled view` within ``settings``' limits; SystemExit with a clear
    message when it cannot."""
    from unrolled import engine

    if not path.is_file():
        raise SystemExit(f"unrolled view: no such file: {path}")
    size_mb = path.stat().st_size / 2**20
    if size_mb > settings.max_trace_file_mb:
        raise SystemExit(
            f"unrolled view: {path} is {size_mb:.0f} MB; the limit is {settings.max_trace_file_mb} MB "
            "(raise it with UNROLLED_MAX_TRACE_FILE_MB)"
        )
    try:
        return engine.load_trace(path, max_bytes=settings.max_trace_unpacked_mb * 2**20)
    except ValueError as exc:
        hint = " (a model's state dict? add --input seq.npy)" if "meta" in str(exc) else ""
        if "unpack" in str(exc):
            hint = " (raise it with UNROLLED_MAX_TRACE_UNPACKED_MB)"
        raise SystemExit(f"unrolled view: {path}: {exc}{hint}") from None


def record_model_trace(settings: Settings, model: Path, input: Path, targets: Path | None = None,
                       cell: str | None = None, loss: str | None = None, lengths: Path | None = None,
                       batch_first: bool = False, readout: str | None = None):
    """(trace, display name) of a user's model run on its input, for `unrolled view model.npz --input x.npy`;
    SystemExit with a message naming the file when a file is missing, unsafe, too big or mis-shaped."""
    from unrolled.server.uploads.model_files import ModelFileError, ModelFiles, read_path
    from unrolled.server.uploads.models import build_user_model

    try:
        limit = settings.max_model_bytes
        files = ModelFiles(read_path(model, "model", limit), read_path(input, "input", limit),
                           None if targets is None else read_path(targets, "targets", limit),
                           model.name, input.name, targets.name if targets else "targets.npy", cell, loss,
                           None if lengths is None else read_path(lengths, "lengths", limit),
                           lengths.name if lengths else "lengths.npy", batch_first, readout)
        user_model = build_user_model(files, settings)
    except ModelFileError as exc:
        raise SystemExit(f"unrolled view: {exc.detail}") from None
    return user_model.run(), f"{model.name} on {input.name}"


def _view_target(args: argparse.Namespace, settings: Settings):
    """(trace, name) for `unrolled view`: a saved trace, or a model recorded on --input."""
    if args.trace.suffix.lower() in (".pt", ".pth"):      # issue 21: a state dict, never unpickled (server/checkpoints.py)
        return _view_checkpoint(args, settings)
    if args.input is not None:
        return record_model_trace(settings, args.trace, args.input, args.targets, args.cell, args.loss, args.lengths,
                                  args.batch_first, args.readout)
    if args.targets or args.cell or args.loss or args.lengths or args.batch_first or args.readout:
        raise SystemExit("unrolled view: --targets, --lengths, --cell, --loss, --batch-first and --readout go with "
                         "--input (a model)")
    return load_saved_trace(args.trace, settings), args.trace.name


def _view_checkpoint(args: argparse.Namespace, settings: Settings):
    """(trace, name) of a torch checkpoint's state dict run on --input: read with torch.load(weights_only=True)."""
    import tempfile

    from unrolled.server.checkpoints import pt_as_npz_bytes
    if args.input is None:
        raise SystemExit(f"unrolled view: {args.trace} is a model checkpoint; give its input with --input seq.npy")
    try:
        data = pt_as_npz_bytes(args.trace)
    except ValueError as exc:
        raise SystemExit(f"unrolled view: {exc}") from None
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / f"{args.trace.stem}.npz"
        npz.write_bytes(data)
        trace, _ = record_model_trace(settings, npz, args.input, args.targets, args.cell, args.loss, args.lengths,
                                      args.batch_first, args.readout)
    return trace, f"{args.trace.name} on {args.input.name}"


def allow_hosts(settings: Settings, host: str, extra: list[str]) -> Settings:
    """``settings`` whose Host allow-list also holds the bound ``host`` and every ``--allow-host`` name,
    exported as UNROLLED_ALLOWED_HOSTS too (the worker processes of `serve` read their settings from
    the environment)."""
    names = tuple(dict.fromkeys([*settings.allowed_hosts, host, *extra]))
    os.environ["UNROLLED_ALLOWED_HOSTS"] = ",".join(names)
    return dataclasses.replace(settings, allowed_hosts=names)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `unrolled` console script."""
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    if args.command == "export":
        export_command(args, settings)
        return
    import uvicorn

    settings = allow_hosts(settings, args.host, args.allow_host)
    _warn_if_public(args.host, settings)
    _warn_without_websockets()
    url = _page_url(args.host, args.port, getattr(args, "preset", None))
    if args.command == "view":
        from unrolled.server.app import create_app

        from unrolled.server.local_limits import local_settings   # issue 21: the machine's limits, not a shared server's
        settings = local_settings(settings)
        trace, name = _view_target(args, settings)
        app = create_app(settings, loaded_trace=(trace, name))
        print(f"Unrolled: viewing {args.trace} at {url}", file=sys.stderr)
        if args.open:
            _open_later(url)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", **uvicorn_hardening(settings))
        return
    if args.workers < 1:
        raise SystemExit("unrolled serve: --workers must be at least 1")
    print(f"Unrolled: serving at {url}", file=sys.stderr)
    if args.open:
        _open_later(url)
    # An import string lets uvicorn start several worker processes (each reads its settings from the environment).
    uvicorn.run("unrolled.server.app:app", host=args.host, port=args.port, workers=args.workers, log_level="info",
                **uvicorn_hardening(settings))


if __name__ == "__main__":
    main(sys.argv[1:])
