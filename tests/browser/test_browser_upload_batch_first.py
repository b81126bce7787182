"""The upload form's "batch first" box: a batch_first=True torch GRU's state dict with (B, T, I) input is read
batch first (the info says so, T and B the right way round)."""
from __future__ import annotations

import numpy as np
import torch

from test_browser_onnx import open_upload, submit_upload

B, T, I, H = 5, 3, 4, 6


def test_the_batch_first_box_reads_a_state_dict_batch_first(page, live_server, tmp_path, screenshots_dir):
    torch.manual_seed(0)
    gru = torch.nn.GRU(I, H, batch_first=True)
    model, x = tmp_path / "bf_gru.npz", tmp_path / "bf_batch.npy"
    np.savez(model, **{k: v.detach().numpy() for k, v in gru.state_dict().items()})
    np.save(x, np.random.default_rng(0).standard_normal((B, T, I)))
    open_upload(page, live_server)
    submit_upload(page, model, x, batch_first=True)
    info = page.text_content('[data-testid="upload-info"]')
    assert f"T = {T}, batch {B}" in info and "read batch first" in info
    page.locator("#model-upload-card").screenshot(path=str(screenshots_dir / "upload_batch_first.png"))
