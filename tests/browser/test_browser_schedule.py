"""The phase jumps land where meta.schedule says the phases meet, for an encoder–decoder too."""

from __future__ import annotations

import json

from browser_helpers import expect_cursor, open_page, wait_done


def _record_meta(page) -> list[dict]:
    """Collect every `meta` message the page receives on its sockets (filled in as they arrive)."""
    metas: list[dict] = []

    def on_socket(ws) -> None:
        def on_frame(payload) -> None:
            if isinstance(payload, str) and '"type":"meta"' in payload.replace(" ", ""):
                msg = json.loads(payload)
                if msg.get("type") == "meta":
                    metas.append(msg)
        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return metas


def _status(page) -> str:
    return page.text_content("#status")


def test_phase_jumps_of_an_encoder_decoder_follow_the_schedule(page, live_server):
    """PageDown lands on the first backward event; "end of forward" on the last forward one."""
    metas = _record_meta(page)
    open_page(page, live_server, preset="seq2seq", seq_len=8)
    wait_done(page)
    schedule = metas[-1]["schedule"]
    first_backward = schedule["forward_events"]
    assert first_backward < schedule["total"]

    page.keyboard.press("PageDown")
    expect_cursor(page, first_backward)
    assert _status(page).startswith(f"backward · event {first_backward + 1} of {schedule['total']}")

    page.click('#jump-forward-end')
    expect_cursor(page, first_backward - 1)
    assert _status(page).startswith(f"forward · event {first_backward} of")

    page.keyboard.press("End")
    expect_cursor(page, schedule["total"] - 1)
    page.keyboard.press("Home")
    expect_cursor(page, 0)


def test_phase_jumps_of_a_bidirectional_two_layer_run_follow_the_schedule(page, live_server):
    """The same jumps for a plain run with 2 layers and 2 directions."""
    metas = _record_meta(page)
    open_page(page, live_server, cell="rnn_tanh", task="copy", seq_len=5, num_layers=2, bidirectional=1,
              hidden_size=4)
    wait_done(page)
    schedule = metas[-1]["schedule"]
    page.keyboard.press("PageDown")
    expect_cursor(page, schedule["forward_events"])
    assert _status(page).startswith("backward")
    page.click('#jump-forward-end')
    expect_cursor(page, schedule["forward_events"] - 1)
    assert _status(page).startswith("forward")
