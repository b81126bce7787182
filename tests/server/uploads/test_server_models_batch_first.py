"""Batch-first data is never silently misread: `unrolled view --batch-first` and the upload's
`batch_first` read (B, T, …) input and targets as a batch_first=True module does; refusals name it."""
from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from unrolled import engine
from unrolled.server.cli import _parser, _view_target
from server_helpers import app_settings

SETTINGS = app_settings()
B, T, I, H, O = 5, 3, 4, 6, 3        # B ≠ T: a transposed read would give another shape


@pytest.fixture()
def batch_first_files(tmp_path):
    torch.manual_seed(2)
    gru, head = torch.nn.GRU(I, H, batch_first=True, dtype=torch.float64), torch.nn.Linear(H, O, dtype=torch.float64)
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((B, T, I)), rng.integers(0, O, size=(B, T))
    paths = {name: tmp_path / f"{name}.{'npz' if name == 'model' else 'npy'}" for name in ("model", "x", "y")}
    state = {k: v.detach().numpy() for k, v in gru.state_dict().items()}
    np.savez(paths["model"], **state, **{f"head.{k}": v.detach().numpy() for k, v in head.state_dict().items()})
    np.save(paths["x"], x)
    np.save(paths["y"], y)
    torch_loss = sum(torch.nn.functional.cross_entropy(head(gru(torch.tensor(x))[0])[:, t], torch.tensor(y[:, t]))
                     for t in range(T)).item()          # the engine's step_mean: Σ_t mean over the batch
    return paths, x, y, torch_loss


def test_view_batch_first_matches_torch(batch_first_files):
    paths, _, _, torch_loss = batch_first_files
    args = ["view", str(paths["model"]), "--input", str(paths["x"]), "--targets", str(paths["y"]), "--batch-first"]
    trace, _ = _view_target(_parser().parse_args(args), SETTINGS)
    assert (trace.T, trace.B) == (T, B)
    assert trace.loss == pytest.approx(torch_loss, rel=1e-12)
    with pytest.raises(SystemExit, match="--batch-first and --readout go with"):
        _view_target(_parser().parse_args(["view", str(paths["model"]), "--batch-first"]), SETTINGS)


def test_upload_batch_first_field(client, batch_first_files):
    paths, x, y, torch_loss = batch_first_files
    body = {k: base64.b64encode(paths[f].read_bytes()).decode() for k, f in
            (("model", "model"), ("input", "x"), ("targets", "y"))}
    info = client.post("/api/models", json={**body, "batch_first": True})
    assert info.status_code == 200, info.text
    assert info.json()["layout"] == "batch_first"
    doc = client.post(f"/api/models/{info.json()['model_id']}/trace").json()
    assert doc["loss"] == pytest.approx(torch_loss, rel=1e-12)
    time_first = client.post("/api/models", json=body)     # without the field: read time first, another model id
    assert time_first.json()["layout"] == "time_first" and time_first.json()["model_id"] != info.json()["model_id"]
    bad = client.post("/api/models", json={**body, "batch_first": "yes"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "batch_first"]
