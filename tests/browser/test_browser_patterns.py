"""The usage patterns' graph shapes (issue 6): many-to-one draws one output, generation draws T−1
feedback edges, Elman context units draw W cut; node and edge counts read off data attributes."""

from __future__ import annotations

from browser_helpers import open_tab, expect_refusals, in_graph_view, open_page, wait_done, wait_shown_to_end, wait_until

GRAPH = '[data-testid="graph"]'


def count(page, selector: str) -> int:
    """How many elements of the graph match `selector`."""
    return page.evaluate(f"document.querySelectorAll('{GRAPH} {selector}').length")


def texts(page, selector: str) -> dict[int, str]:
    """data-t → text of the graph nodes matching `selector`."""
    pairs = page.evaluate(
        f"[...document.querySelectorAll('{GRAPH} {selector}')].map(e => [e.dataset.t, e.querySelector('.node-text').textContent])")
    return {int(t): text for t, text in pairs}


def query(page) -> dict[str, str]:
    """The permalink's fields."""
    return page.evaluate("Object.fromEntries(new URLSearchParams(location.search))")


def h_nodes_per_row(page) -> set[int]:
    nodes = page.evaluate(f"[...document.querySelectorAll('{GRAPH} [data-node^=h_l]')].map(e => e.dataset.node)")
    return {nodes.count(n) for n in set(nodes)}


def test_many_to_one_draws_one_output_and_one_loss(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="sequence-classification")
    wait_done(page)
    T = int(query(page)["seq_len"])
    assert h_nodes_per_row(page) == {T}
    assert count(page, "[data-node=logits]") == 1 and count(page, "[data-node=loss]") == 1
    assert texts(page, "[data-node=logits]").keys() == {T - 1} == texts(page, "[data-node=loss]").keys()
    assert count(page, "[data-edge=output]") == 1 and count(page, "[data-edge=loss]") == 1
    assert count(page, "[data-edge=feedback]") == 0 and count(page, "[data-cut]") == 0
    assert page.is_hidden('[data-testid="pattern-note"]')
    # the first backward event is the one loss's: the view follows it to the last column
    page.click("#jump-backward-start")
    page.wait_for_selector(f'{GRAPH} [data-node=logits][data-t="{T - 1}"]', state="visible")
    wait_until(page, in_graph_view(page, f'{GRAPH} [data-node=loss]'))
    box = page.locator(f'{GRAPH} [data-node=loss]').bounding_box()
    assert box is not None and 0 < box["x"] < 1280
    page.screenshot(path=str(screenshots_dir / "pattern-many-to-one.png"))


def test_generation_draws_feedback_edges_and_the_fed_back_symbols(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="generation")
    wait_done(page)
    fields = query(page)
    T = int(fields["seq_len"])
    assert fields["unroll"] == "free_running"
    assert h_nodes_per_row(page) == {T}
    assert count(page, "[data-node=logits]") == T == count(page, "[data-node=loss]")
    assert count(page, "[data-edge=feedback]") == T - 1
    assert page.evaluate(f"[...document.querySelectorAll('{GRAPH} [data-edge=feedback]')].map(e => +e.dataset.fromT)") \
        == list(range(T - 1))
    assert count(page, "[data-label=fed-back]") == 1
    assert count(page, "[data-node=x][data-fed-back]") == T - 1
    # each fed-back input shows the symbol the previous output predicted (argmax ŷ)
    inputs, outputs = texts(page, "[data-node=x]"), texts(page, "[data-node=logits]")
    assert inputs[0] == "t" and "".join(inputs[t] for t in range(T)).startswith("tdggg")
    assert all(inputs[t + 1] == outputs[t] for t in range(T - 1)), (inputs, outputs)
    assert "fed back" in page.text_content('[data-testid="pattern-note"]')
    assert page.input_value("[data-testid=train-epochs]") == "30"                   # the story's training, from the permalink
    page.screenshot(path=str(screenshots_dir / "pattern-generation.png"))


def test_elman_context_draws_w_cut_and_never_thickens_it(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="elman-context")
    wait_shown_to_end(page)
    fields = query(page)
    T = int(fields["seq_len"])
    assert fields["recurrent_gradient"] == "0"
    assert h_nodes_per_row(page) == {T}
    assert count(page, "[data-edge=recurrent]") == T == count(page, "[data-edge=recurrent][data-cut]")
    assert count(page, "[data-edge=feedback]") == 0
    # the run ends in the backward phase: no W edge carries gradient
    assert count(page, ".edge.recurrent.carrying") == 0
    assert "no gradient through W" in page.text_content('[data-testid="pattern-note"]')
    assert not page.is_checked('#config-form [name=recurrent_gradient]')
    # the last event's equation has the output term only: nothing comes back through W
    equation = page.text_content("#equation")
    assert "no gradient back through W" in equation and "Wᵀ" not in equation and "Vᵀ ∂L/∂o₀" in equation
    page.screenshot(path=str(screenshots_dir / "pattern-elman-context.png"))
    # the contrast: full BPTT on the same data thickens W edges in the backward phase
    open_tab(page, "config")
    page.check('#config-form [name=recurrent_gradient]')
    # the new run may finish before a "not done" state could be seen: wait for its graph instead
    wait_until(page, "document.querySelectorAll('[data-cut]').length === 0", timeout_ms=20_000)
    wait_shown_to_end(page)
    # edge widths follow the drawn cursor: give a loaded machine a few frames to draw the last one
    try:
        wait_until(page, f"document.querySelectorAll('.edge.recurrent.carrying').length === {T}", timeout_ms=5_000)
    except AssertionError:
        pass                                   # the assertion below says what the page showed instead
    assert count(page, "[data-cut]") == 0 and count(page, ".edge.recurrent.carrying") == T, page.evaluate("[document.body.dataset.status, document.body.dataset.cursor, document.body.dataset.received, document.querySelector('#status').textContent, document.querySelectorAll('[data-edge=recurrent]').length]")
    assert page.is_hidden('[data-testid="pattern-note"]')


def test_a_pattern_permalink_reproduces_the_graph(page, live_server):
    open_page(page, live_server, task="char_lm", seq_len=6, hidden_size=8, unroll="free_running",
              recurrent_gradient=0)
    wait_done(page)
    assert count(page, "[data-edge=feedback]") == 5 and count(page, "[data-edge=recurrent][data-cut]") == 6
    assert page.input_value('#config-form [name=unroll]') == "free_running"
    fields = query(page)
    assert (fields["unroll"], fields["recurrent_gradient"]) == ("free_running", "0")


def test_generation_compares_with_teacher_forcing_side_by_side(page, live_server, screenshots_dir):
    """The toggle draws a second, read-only graph of the same weights reading the true text."""
    open_page(page, live_server, preset="generation")
    wait_done(page)
    T = int(query(page)["seq_len"])
    assert page.is_hidden('[data-testid="teacher-card"]')
    page.check('[data-testid="teacher-compare"]')
    page.wait_for_selector('[data-testid="teacher-card"][data-status="done"]')
    teacher = '[data-testid="graph-teacher"]'
    pairs = page.evaluate(
        f"[...document.querySelectorAll('{teacher} [data-node=x]')].map(e => e.querySelector('.node-text').textContent)")
    assert "".join(pairs).startswith("to␣be,␣or")                          # the text itself, not fed back
    assert page.evaluate(f"document.querySelectorAll('{teacher} [data-edge=feedback]').length") == 0
    assert page.evaluate(f"document.querySelectorAll('{teacher} [data-node^=h_l]').length") == T
    assert "L = " in page.text_content("#teacher-title")
    page.screenshot(path=str(screenshots_dir / "pattern-generation-teacher.png"), full_page=True)
    page.uncheck('[data-testid="teacher-compare"]')
    assert page.is_hidden('[data-testid="teacher-card"]')
    # a pattern without feedback offers no comparison
    page.select_option('[data-testid="preset"]', "elman-context")
    wait_until(page, "new URLSearchParams(location.search).get('preset') === 'elman-context'")
    wait_done(page)
    assert page.is_hidden(".teacher-toggle") and page.is_hidden('[data-testid="teacher-card"]')


def test_the_generation_lesson_train_then_generate_beside_teacher_forcing(page, live_server, screenshots_dir):
    """The preset's story in the page: train 30 epochs (teacher forcing), step through the trained
    network free running — it writes 'to to  or ou…' at a loss near 50 — and compare with teacher forcing."""
    open_page(page, live_server, preset="generation")
    wait_done(page)
    open_tab(page, "training")
    page.click('[data-testid="train-start"]')
    page.wait_for_selector('[data-testid="train-step-through"]:not([disabled])', timeout=60_000)
    page.click('[data-testid="train-step-through"]')
    page.wait_for_selector('body[data-status="running"], body[data-status="done"]')
    wait_shown_to_end(page)
    wait_until(page, "document.querySelector('#status').textContent.includes('done · L =')")  # drawn a frame later
    inputs = texts(page, "[data-node=x]")
    assert "".join(inputs[t] for t in sorted(inputs)).startswith("to␣to␣␣or␣ou")
    assert count(page, "[data-edge=feedback]") == len(inputs) - 1
    assert "L = 50." in page.text_content("#status")
    page.check('[data-testid="teacher-compare"]')
    page.wait_for_selector('[data-testid="teacher-card"][data-status="done"]')
    assert "L = 29." in page.text_content("#teacher-title")
    page.screenshot(path=str(screenshots_dir / "pattern-generation-trained.png"), full_page=True)


def test_seq2seq_draws_encoder_and_decoder_joined_by_the_context(page, live_server, guard, screenshots_dir):
    open_page(page, live_server, preset="seq2seq")
    wait_shown_to_end(page)
    fields = query(page)
    T_in = int(fields["seq_len"])
    T = 2 * T_in
    assert fields["task"] == "reverse"
    assert h_nodes_per_row(page) == {T}
    # two shaded halves; outputs and losses only on the decoder's columns
    assert page.evaluate(f"[...document.querySelectorAll('{GRAPH} [data-segment]')].map(e => e.dataset.segment)") \
        == ["encoder", "decoder"]
    assert texts(page, "[data-node=logits]").keys() == set(range(T_in, T)) == texts(page, "[data-node=loss]").keys()
    assert count(page, "[data-edge=output]") == T_in and count(page, "[data-edge=loss]") == T_in
    # one context edge; every other step is a recurrent W edge (from the initial state on)
    assert count(page, "[data-edge=context]") == 1 and count(page, "[data-edge=recurrent]") == T - 1
    assert count(page, "[data-edge=input]") == T and count(page, "[data-edge=feedback]") == 0
    labels = page.evaluate(f"[...document.querySelectorAll('{GRAPH} .edge-label')].map(e => e.textContent)")
    assert labels.count("Wᴱ") == T_in and labels.count("Wᴰ") == T_in - 1 and labels.count("context") == 1  # Wᴱ from h(−1)
    assert labels.count("Uᴱ") == T_in and labels.count("Uᴰ") == T_in
    # the decoder reads <go> and then the true previous symbol; its targets are the input reversed
    inputs, losses = texts(page, "[data-node=x]"), texts(page, "[data-node=loss]")
    assert inputs[T_in] == "<go>"
    assert [losses[t] for t in range(T_in, T)] == [inputs[t] for t in range(T_in - 1, -1, -1)]
    assert [inputs[t] for t in range(T_in + 1, T)] == [losses[t] for t in range(T_in, T - 1)]
    # the run ended in the backward phase: the context edge carries the gradient into the encoder
    assert count(page, "[data-edge=context].carrying") == 1
    assert "Encoder–decoder" in page.text_content('[data-testid="pattern-note"]')
    open_tab(page, "equations")
    assert page.is_visible('[data-testid="eq-seq2seq"]')
    # the last event is the encoder's first step: it has no output of its own, only what came back
    assert "Backward step t = 0" in page.text_content("#equation") and "Vᵀ" not in page.text_content("#equation")
    for _ in range(T_in - 1):
        page.click('[data-testid="step-back"]')
    wait_until(page, f"document.querySelector('#equation').textContent.includes('t = {T_in - 1}')")
    assert "across the context" in page.text_content("#equation")
    # the inspector reads an encoder step and a decoder output like any other
    page.click(f'{GRAPH} [data-node=h_l0][data-t="{T_in}"]')
    wait_until(page, "document.querySelector('#inspector').textContent.includes('layer 1 · decoder')")
    inspector = page.text_content("#inspector")
    assert "the context edge" in inspector and "Wᴰ" not in inspector
    rows = page.evaluate("[...document.querySelectorAll('#inspector .contrib-table tr')].map(r => r.title)")
    assert rows and all(r.startswith("decoder.") for r in rows)
    page.click(f'{GRAPH} [data-node=logits][data-t="{T_in}"]')
    wait_until(page, "document.querySelector('#inspector').textContent.includes('(logits)')")
    rows = page.evaluate("[...document.querySelectorAll('#inspector .contrib-table tr')].map(r => r.title)")
    assert set(rows) == {"decoder.head.weight", "decoder.head.bias"}
    # the .npz export holds the chain (both halves); compare takes single networks and says so
    assert page.is_enabled("#export-npz") and "two networks" not in (page.get_attribute("#export-npz", "title") or "")
    assert page.is_enabled("#export-json")
    open_tab(page, "compare")
    page.click('[data-testid="compare-run"]')
    page.wait_for_selector('[data-testid="compare-status"]:has-text("compare takes single RNNs")')
    expect_refusals(guard, 1)
    open_tab(page, "equations")
    page.locator(".equations-panel").screenshot(path=str(screenshots_dir / "pattern-seq2seq-equations.png"))
    page.screenshot(path=str(screenshots_dir / "pattern-seq2seq.png"), full_page=True)
    page.locator(GRAPH).screenshot(path=str(screenshots_dir / "pattern-seq2seq-graph.png"))


def test_seq2seq_lstm_marks_the_cell_state_crossing_too(page, live_server):
    open_page(page, live_server, preset="seq2seq", cell="lstm", seq_len=4, num_layers=2)
    wait_done(page)
    assert count(page, "[data-edge=context]") == 2 and count(page, "[data-edge=cell].context") == 2
    assert count(page, "[data-edge=recurrent]") == 2 * 7
    labels = page.evaluate(f"[...document.querySelectorAll('{GRAPH} .edge-label')].map(e => e.textContent)")
    assert labels.count("W₂ᴱ") == 4 and labels.count("W₂ᴰ") == 3 and labels.count("U₁ᴰ") == 4
    # back to a single RNN: no halves, no context, and training is offered again
    page.select_option("#preset", "char-lm")
    wait_until(page, "document.querySelectorAll('[data-segment]').length === 0", timeout_ms=20_000)
    wait_done(page)
    assert count(page, "[data-edge=context]") == 0 and page.is_hidden('[data-testid="eq-seq2seq"]')


def test_seq2seq_trains_then_steps_through_the_trained_model(page, live_server, screenshots_dir):
    """The preset's training (100 epochs, teacher forcing) in the panel: the profile plot marks the
    context; the trained model writes the input reversed on every decoder step."""
    open_page(page, live_server, preset="seq2seq")
    wait_done(page)
    assert page.input_value("[data-testid=train-epochs]") == "100"
    open_tab(page, "training")
    page.click('[data-testid="train-start"]')
    page.wait_for_selector('[data-testid="train-status"]:has-text("finished after 100 epochs")', timeout=60_000)
    wait_until(page, "document.querySelector('[data-testid=plot-training]').data?.[0].y.length === 100")
    shapes = page.evaluate("document.querySelector('[data-testid=plot-training]').layout.shapes.map(s => [s.xref, s.x0])")
    T_in = int(query(page)["seq_len"])
    assert shapes == [["x2", T_in - 0.5], ["x3", T_in - 0.5]]
    page.click('[data-testid="train-step-through"]')
    page.wait_for_selector('body[data-status="running"], body[data-status="done"]')
    wait_shown_to_end(page)
    wait_until(page, "document.querySelector('#status').textContent.includes('done · L =')")
    assert count(page, "[data-segment]") == 2 and count(page, "[data-edge=context]") == 1
    outputs, losses = texts(page, "[data-node=logits]"), texts(page, "[data-node=loss]")
    assert outputs == losses and len(outputs) == T_in            # every predicted symbol is the target
    assert "L = 0.24" in page.text_content("#status")
    page.screenshot(path=str(screenshots_dir / "pattern-seq2seq-trained.png"), full_page=True)


def test_seq2seq_free_running_decoder_feeds_back_beside_teacher_forcing(page, live_server, screenshots_dir):
    """Test-time decoding: feedback edges on the decoder's columns only; the toggle draws the
    teacher-forced run of the same weights, an encoder–decoder too."""
    open_page(page, live_server, preset="seq2seq", unroll="free_running")
    wait_shown_to_end(page)
    T_in = int(query(page)["seq_len"])
    assert count(page, "[data-edge=feedback]") == T_in - 1
    assert page.evaluate(f"[...document.querySelectorAll('{GRAPH} [data-edge=feedback]')].map(e => +e.dataset.fromT)") \
        == list(range(T_in, 2 * T_in - 1))
    assert count(page, "[data-node=x][data-fed-back]") == T_in - 1
    inputs, outputs = texts(page, "[data-node=x]"), texts(page, "[data-node=logits]")
    assert inputs[T_in] == "<go>" and all(inputs[t + 1] == outputs[t] for t in range(T_in, 2 * T_in - 1))
    assert "decoder's ŷ(t) is fed back" in page.text_content('[data-testid="pattern-note"]')
    page.check('[data-testid="teacher-compare"]')
    page.wait_for_selector('[data-testid="teacher-card"][data-status="done"]')
    teacher = '[data-testid="graph-teacher"]'
    assert page.evaluate(f"document.querySelectorAll('{teacher} [data-segment]').length") == 2
    assert page.evaluate(f"document.querySelectorAll('{teacher} [data-edge=feedback]').length") == 0
    assert "L = " in page.text_content("#teacher-title")
    page.screenshot(path=str(screenshots_dir / "pattern-seq2seq-free-running.png"), full_page=True)
