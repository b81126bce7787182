"""The config model: presets with overrides, derived loss, and a 422 naming the field for every bound."""

from __future__ import annotations

import json

import pytest

from pydantic import ValidationError

from unrolled.server.config import TraceConfig, config_model, first_error, resolve_config
from unrolled.server.config import SCHEMA_SETTINGS as settings
from unrolled.server.settings import Settings


def test_preset_fields_are_overridden_by_given_fields():
    config = resolve_config({"preset": "exploding", "seq_len": 12, "cell": "rnn_tanh"})
    assert (config.preset, config.seq_len, config.cell) == ("exploding", 12, "rnn_tanh")
    assert config.recurrent_scale == resolve_config({"preset": "exploding"}).recurrent_scale


def test_resolved_config_round_trips_like_a_permalink():
    config = resolve_config({"preset": "truncated-bptt", "seed": 3})
    assert resolve_config(config.model_dump()) == config


@pytest.mark.parametrize("task, loss", [("copy", "cross_entropy"), ("adding", "mse"), ("char_lm", "cross_entropy"),
                                        ("tagging", "cross_entropy"), ("sine", "mse")])
def test_loss_follows_from_the_task(task, loss):
    assert resolve_config({"task": task}).loss == loss
    assert resolve_config({"task": task, "loss": loss}).loss == loss


LIMIT_CASES = [
    ({"seq_len": settings.max_seq_len + 1}, "seq_len"),
    ({"seq_len": 1}, "seq_len"),
    ({"hidden_size": settings.max_hidden_size + 1}, "hidden_size"),
    ({"hidden_size": 0}, "hidden_size"),
    ({"num_layers": settings.max_num_layers + 1}, "num_layers"),
    ({"num_layers": 0}, "num_layers"),
    ({"batch_size": settings.max_batch_size + 1}, "batch_size"),
    ({"batch_size": 0}, "batch_size"),
    ({"seq_len": settings.max_seq_len, "batch_size": 8, "hidden_size": 64}, "seq_len"),  # the product
    ({"seq_len": 500, "hidden_size": 128, "num_layers": 1, "bidirectional": True, "batch_size": 2}, "seq_len"),
    ({"batch_size": 2, "batch_index": 2}, "batch_index"),
    ({"batch_index": -1}, "batch_index"),
    ({"task": "char_lm", "text": "x" * (settings.max_text_len + 1)}, "text"),
    ({"task": "char_lm", "text": ""}, "text"),
    ({"task": "char_lm", "text": "ab\ud800"}, "text"),
    ({"task": "char_lm", "text": "".join(chr(0x400 + i) for i in range(settings.max_vocab + 1))}, "text"),
    ({"recurrent_scale": settings.max_recurrent_scale + 0.5}, "recurrent_scale"),
    ({"recurrent_scale": -0.1}, "recurrent_scale"),
    ({"recurrent_scale": True}, "recurrent_scale"),
    ({"forget_bias": 21.0}, "forget_bias"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**32}, "seed"),
    ({"seed": "1"}, "seed"),
    ({"seq_len": 20.5}, "seq_len"),
    ({"bidirectional": 1}, "bidirectional"),
    ({"cell": "transformer"}, "cell"),
    ({"task": "chess"}, "task"),
    ({"preset": "no-such-preset"}, "preset"),
    ({"dtype": "float16"}, "dtype"),
    ({"task": "sine", "loss": "cross_entropy"}, "loss"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": settings.max_epochs + 1}, "epochs"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"lr": 0.0}, "lr"),
    ({"lr": 11.0}, "lr"),
    ({"clip": -1.0}, "clip"),
    ({"tbptt": 0}, "tbptt"),
    ({"seq_len": 10, "tbptt": 11}, "tbptt"),
    ({"sequence_length": 10}, "sequence_length"),
]


@pytest.mark.parametrize("body, field", LIMIT_CASES, ids=[f for _, f in LIMIT_CASES])
def test_every_bound_is_a_422_naming_the_field(client, body, field):
    # json.dumps escapes non-ASCII, so even a lone surrogate travels as valid JSON
    r = client.post("/api/trace", content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    locations = [e["loc"] for e in r.json()["detail"]]
    assert ["body", field] in locations, locations


def test_nan_in_the_body_is_a_422_not_a_500(client):
    r = client.post("/api/trace", content=b'{"recurrent_scale": NaN}', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "recurrent_scale"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe", b"v\xb1\xe3C\x90I\x18"])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_malformed_bodies_are_422(client, body, content_type):
    r = client.post("/api/trace", content=body, headers={"content-type": content_type})
    assert r.status_code == 422, r.text


def test_settings_come_from_the_environment():
    s = Settings.from_env({"UNROLLED_MAX_SEQ_LEN": "2000", "UNROLLED_MAX_STREAMS": "9"})
    assert (s.max_seq_len, s.max_streams, s.max_hidden_size) == (2000, 9, Settings().max_hidden_size)
    with pytest.raises(ValueError, match="UNROLLED_MAX_UNITS"):
        Settings.from_env({"UNROLLED_MAX_UNITS": "lots"})
    with pytest.raises(ValueError, match="positive"):
        Settings.from_env({"UNROLLED_MAX_STREAMS": "0"})


def test_the_schema_states_the_bounds():
    props = TraceConfig.model_json_schema()["properties"]
    assert props["batch_size"]["maximum"] == settings.max_batch_size
    assert props["num_layers"]["maximum"] == settings.max_num_layers
    assert "steps·batch_size·hidden_size·num_layers·directions" in props["seq_len"]["description"]
    assert f"at most {settings.max_seq2seq_len}" in props["seq_len"]["description"]


def test_an_app_validates_configs_with_its_own_bounds():
    from unrolled.server.app import create_app
    from server_helpers import app_settings

    app = create_app(app_settings(max_seq_len=5, max_delay_ms=7))
    assert app.state.settings.max_delay_ms == 7
    with pytest.raises(ValidationError, match="less than or equal to 5"):
        app.state.config_model.model_validate({"seq_len": 6})
    assert create_app(app_settings(max_streams=1)).state.config_model is TraceConfig
    assert TraceConfig.model_validate({"seq_len": 6}).seq_len == 6  # the process's default is unchanged


def test_config_model_bounds_its_validators_too():
    model = config_model(Settings(max_units=100, max_seq2seq_len=4, max_vocab=3))
    assert model is config_model(Settings(max_units=100, max_seq2seq_len=4, max_vocab=3))  # cached
    with pytest.raises(ValidationError, match="exceeds the limit 100"):
        model.model_validate({"seq_len": 10, "hidden_size": 11})
    with pytest.raises(ValidationError, match="at most 4"):
        model.model_validate({"task": "reverse", "seq_len": 5})
    with pytest.raises(ValidationError, match="at most 3 are allowed"):
        model.model_validate({"task": "char_lm", "text": "abcd"})
    assert resolve_config({"seq_len": 10, "hidden_size": 11}).seq_len == 10
    assert "≤ 100" in model.model_json_schema()["properties"]["seq_len"]["description"]


def test_readout_and_loss_reduction_round_trip_and_refusals():
    """Issue 19's fields: they resolve, dump and resolve again to the same config; wrong uses name the field."""
    config = resolve_config({"task": "copy", "bidirectional": True, "readout": "final_state",
                             "loss_reduction": "token_mean"})
    assert resolve_config(config.model_dump()) == config
    for bad, field, text in (({"task": "tagging", "readout": "final_state"}, "readout", "one output per sequence"),
                             ({"task": "copy", "tbptt": 4, "readout": "final_state"}, "readout", "no tbptt"),
                             ({"tbptt": 4, "loss_reduction": "token_mean"}, "loss_reduction", "not with tbptt"),
                             ({"loss_reduction": "mean"}, "loss_reduction", "")):
        with pytest.raises(ValidationError) as info:
            resolve_config(bad)
        message, where = first_error(info.value)
        assert where == field and text in message
