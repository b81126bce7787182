"""issue 21: `unrolled view` is local — its limits come from the machine, every limit message names its
variable, and a trace saves uncompressed (fast) unless asked."""
from __future__ import annotations

import zipfile

import numpy as np

from unrolled import engine
from unrolled.server.local_limits import local_settings
from unrolled.server.settings import Settings


def test_a_local_viewer_gets_the_machines_limits_but_keeps_what_the_user_set():
    shared = Settings()
    local = local_settings(shared, environ={}, memory=24 << 30)
    assert local.max_units >= 131_072 > shared.max_units             # the char model of the issue: T 64 × B 16 × H 128
    kept = local_settings(shared, environ={"UNROLLED_MAX_UNITS": "100"}, memory=24 << 30)
    assert kept.max_units == shared.max_units                         # the variable's value is from_env's business
    assert local_settings(shared, environ={}, memory=1 << 20).max_units == shared.max_units   # never below


def test_the_units_limit_message_names_its_variable(tmp_path):
    import io

    from unrolled.server.uploads.model_files import ModelFileError, ModelFiles
    from unrolled.server.uploads.models import build_user_model
    net = engine.Network.random("lstm", 3, 128, 4, seed=0)
    model, x = io.BytesIO(), io.BytesIO()
    np.savez(model, **{k: v for k, v in net.state_dict().items() if not k.startswith("head")})
    np.save(x, np.zeros((64, 16, 3)))
    files = ModelFiles(model.getvalue(), x.getvalue(), None, "lm.npz", "x.npy")
    try:
        build_user_model(files, Settings())
    except ModelFileError as exc:
        assert "131072" in exc.detail and "UNROLLED_MAX_UNITS" in exc.detail
    else:
        raise AssertionError("the shared server's limit should refuse 131 072 units")
    assert build_user_model(files, local_settings(Settings(), environ={}, memory=24 << 30)).run().T == 64


def test_trace_save_is_uncompressed_by_default(tmp_path):
    net = engine.Network.random("gru", 3, 8, 4, seed=0)
    trace = net.run(np.zeros((5, 2, 3)), np.zeros((5, 2), dtype=int))
    trace.save(tmp_path / "plain.npz")
    trace.save(tmp_path / "small.npz", compress=True)
    methods = {info.compress_type for info in zipfile.ZipFile(tmp_path / "plain.npz").infolist()}
    assert methods == {zipfile.ZIP_STORED}
    assert {i.compress_type for i in zipfile.ZipFile(tmp_path / "small.npz").infolist()} == {zipfile.ZIP_DEFLATED}
    again = engine.load_trace(tmp_path / "plain.npz")
    np.testing.assert_array_equal(again.grads["weight_hh_l0"], trace.grads["weight_hh_l0"])
