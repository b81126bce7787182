"""One source of truth for the upload form (issue 19): the page builds its form from the page data's
`upload_fields`, read off the upload route's schema; every field the route validates is one of them
(or a file's name), and a body built from them, field by field as models.js builds it, is accepted."""
from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import torch

from unrolled.server.routes.model_routes import ModelUpload
from unrolled.server.uploads.upload_form import upload_fields


def _b64_npy(array: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, array)
    return base64.b64encode(buf.getvalue()).decode()


def test_the_fields_cover_the_routes_schema_exactly():
    fields = upload_fields()
    named = {f["name"] for f in fields} | {f["name_field"] for f in fields if f["name_field"]}
    assert named == set(ModelUpload.model_fields)
    required = {name for name, info in ModelUpload.model_fields.items() if info.is_required()}
    assert {f["name"] for f in fields if f["required"]} == required == {"model", "input"}
    loss = next(f for f in fields if f["name"] == "loss")
    assert (loss["kind"], loss["options"]) == ("select", ["cross_entropy", "mse"])
    assert next(f for f in fields if f["name"] == "batch_first")["kind"] == "checkbox"


def test_the_page_carries_them(client):
    page = client.get("/").text
    data = json.loads(re.search(r'<script[^>]*id="page-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert data["upload_fields"] == upload_fields()


def test_a_body_built_from_the_fields_is_accepted(client):
    """Every served field filled as the form fills it (files with their names, a select's first option)."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, dtype=torch.float64)
    buf = io.BytesIO()
    np.savez(buf, **{k: v.detach().numpy() for k, v in lstm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    files = {"model": (base64.b64encode(buf.getvalue()).decode(), "mine.npz"), "input": (_b64_npy(x), "x.npy"),
             "targets": (_b64_npy(np.zeros((5, 2), dtype=np.int64)), "y.npy"),
             "lengths": (_b64_npy(np.array([5, 3])), "lengths.npy")}
    body = {}
    for f in upload_fields():
        if f["kind"] == "file":
            body[f["name"]], body[f["name_field"]] = files[f["name"]]
        elif f["kind"] == "checkbox":
            body[f["name"]] = False
        else:
            body[f["name"]] = {"cell": "lstm", "loss": "cross_entropy", "readout": "per_step"}[f["name"]]
            assert body[f["name"]] in f["options"]
    answer = client.post("/api/models", json=body)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["name"], answer.json()["cell"], answer.json()["padded"]) == ("mine.npz", "lstm", True)
