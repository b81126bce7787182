"""Issue 21's closing figures: each kind of real model opened and its replay's max per-timestep error
against torch autograd (float64), then each diagnosis case with its finding or its healthy silence.

    .venv/bin/python benchmarks/issue21_report.py
"""
from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from unrolled import engine  # noqa: E402
from tests.engine.torch_models import cases, per_step_error, replay_errors, torch_oracle  # noqa: E402


def models() -> None:
    print("== models opened, max per-timestep relative error vs torch autograd (float64) ==")
    for name, (model, inputs, targets, loss_fn) in cases().items():
        rnn = [m for m in model.modules() if isinstance(m, (torch.nn.RNNBase, torch.nn.RNNCellBase))][0]
        replay = engine.from_torch_model(model, inputs, targets, loss_fn)
        errors = replay_errors(replay, torch_oracle(model, inputs, targets, loss_fn, rnn), rnn)
        print(f"  {name:45s} max {max(errors.values()):.1e}  ({', '.join(f'{k} {v:.0e}' for k, v in errors.items())})")
    _onnx_and_pt()
    try:
        engine.Network.from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    except ValueError as exc:
        print(f"  {'LSTM with proj_size (projection)':45s} refused: {exc}")


def _onnx_and_pt() -> None:
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 5, batch_first=True).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    ref = lstm(x)[0].detach().numpy()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        torch.onnx.export(lstm, (x,), str(path), external_data=False, dynamo=False)
        net = engine.Network.from_onnx(path)
        trace = net.run(x.numpy(), np.full((2, 6, net.output_size), -100.0), loss="mse")
        print(f"  {'ONNX export (batch-first LSTM)':45s} max {per_step_error(trace.activations['h_l0'], np.swapaxes(ref, 0, 1)):.1e} (outputs)")
        pt = Path(tmp) / "m.pt"
        torch.save(lstm.state_dict(), pt)
        from unrolled.server.checkpoints import read_pt_state
        state = read_pt_state(pt)
        net = engine.Network.from_state_dict({**state, "head.weight": np.eye(5), "head.bias": np.zeros(5)}, cell="lstm")
        trace = net.run(np.swapaxes(x.numpy(), 0, 1), np.full((6, 2, 5), -100.0), loss="mse")
        print(f"  {'.pt state dict (torch.load weights_only)':45s} max {per_step_error(trace.activations['h_l0'], np.swapaxes(ref, 0, 1)):.1e} (outputs)")


def run(net, T=40, per_step=False, positive=False, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, 4, net.input_size))
    x = np.abs(x) if positive else x
    y = rng.integers(0, net.output_size, (T, 4))
    if not per_step:
        y[:-1] = -100
    return net.run(x, y)


def diagnosis() -> None:
    print("== diagnosis: each case, then its healthy twin ==")
    rnd = lambda cell, **kw: engine.Network.random(cell, 3, 16, 4, seed=0, **kw)   # noqa: E731

    def irnn(scale):
        s = rnd("rnn_relu").state_dict()
        s["weight_hh_l0"], s["bias_hh_l0"] = scale * np.eye(16), np.zeros(16)
        return engine.Network.from_state_dict(s, cell="rnn_relu")

    def lstm_bias(rows, value, cell="lstm"):
        s = rnd(cell).state_dict()
        s["bias_ih_l0"][rows] = value
        return engine.Network.from_state_dict(s, cell=cell)
    bi = engine.Network.random("gru", 3, 8, 4, seed=0, bidirectional=True)
    cases_ = [
        ("IRNN W_hh = I (relu), positive inputs", run(irnn(1.0), positive=True), {}),
        ("  twin, default relu RNN (no growth)", run(rnd("rnn_relu"), positive=True), {}),
        ("LSTM forget bias +6 (f ≈ 1)", run(rnd("lstm", forget_bias=6.0)), {}),
        ("LSTM input gate shut (i ≈ 0)", run(lstm_bias(slice(0, 16), -12.0)), {}),
        ("GRU z ≈ 1 (keeps memory)", run(lstm_bias(slice(16, 32), 8.0, "gru")), {}),
        ("GRU z ≈ 0 (overwrites)", run(lstm_bias(slice(16, 32), -8.0, "gru")), {}),
        ("tanh RNN ×0.5, per-step loss", run(rnd("rnn_tanh", recurrent_scale=0.5), per_step=True), {}),
        ("  same, required_lag=20", run(rnd("rnn_tanh", recurrent_scale=0.5), per_step=True), {"required_lag": 20}),
        ("IRNN W_hh = 1.02·I (update ratio)", run(irnn(1.02), positive=True), {}),
        ("  twin, default GRU (no update_ratio)", run(rnd("gru")), {}),
        ("bidirectional GRU read at out[:, -1]", run(bi, T=10), {}),
        ("  same, loss at every step", run(bi, T=10, per_step=True), {}),
        ("no loss, no gradient", bi.run(np.zeros((5, 1, 3)), np.full((5, 1), -100)), {}),
    ]
    from unrolled.server.config import TraceConfig
    from unrolled.server.runs import compute_trace
    cases_.append(("seq2seq preset (reverse needs lag 15)", compute_trace(TraceConfig.model_validate({"preset": "seq2seq"}))[0], {}))
    for name, trace, kw in cases_:
        found = engine.diagnose(trace, **kw)
        words = "; ".join(f"{f.severity} {f.kind}: {f.detail[:90]}" for f in found) or "✓ silent"
        print(f"  {name:42s} {words}")
    s = rnd("rnn_relu").state_dict()
    buf = io.BytesIO()
    np.savez(buf, **s)
    from unrolled.server.uploads.state_names import infer_cell
    try:
        infer_cell({"weight_hh_l0": s["weight_hh_l0"]}, None, "relu.npz", "model")
    except Exception as exc:          # ModelFileError
        print(f"  {'.npz of an nn.RNN(relu) without --cell':42s} refused: {getattr(exc, 'detail', exc)}")


if __name__ == "__main__":
    models()
    diagnosis()
