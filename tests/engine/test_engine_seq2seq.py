"""The encoder–decoder on one joined time axis (Seq2Seq.run_joined: one Trace whose chain is a silent
encoder segment and an emitting decoder segment): every gradient norm it reports, the flow of each
decoder loss back across the context, and the Jacobians (the context edge's included) against a
step-by-step torch float64 graph; its events (recorded, and live from Seq2Seq.steps_joined), summary,
diagnosis and segments; and the one Trainer on it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unrolled import engine
from unrolled.engine.gradcheck import compare_numeric
from unrolled.engine.losses import IGNORE
from unrolled.engine.patterns import Seq2Seq
from unrolled.engine.tbptt import state_at
from unrolled.engine.tasks import make_task
from engine_cases import assert_steps
from torch_reference import cell_step

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def torch_joined(model: Seq2Seq, x: np.ndarray, targets: np.ndarray, T_in: int) -> dict:
    """Loss terms, ∂L/∂h_t norms, the flow matrix ‖∂L_k/∂h_t‖ and the per-step Jacobian norms of the
    encoder–decoder, with the encoder's weights for t < T_in and the decoder's from t = T_in on."""
    cell, L, H = model.encoder.cell, model.encoder.num_layers, model.encoder.hidden_size
    T, B = x.shape[:2]
    weights = [{k: torch.tensor(v, requires_grad=True) for k, v in half.state_dict().items()}
               for half in (model.encoder, model.decoder)]
    zeros = lambda: torch.zeros(B, H, dtype=torch.float64)  # noqa: E731
    state = [(zeros(), zeros()) if cell == "lstm" else (zeros(),) for _ in range(L)]
    hs: dict[str, list] = {f"h_l{k}": [] for k in range(L)}
    steps: dict[str, list] = {f"h_l{k}": [] for k in range(L)}   # (input, previous state, weights) per t
    losses: dict[int, torch.Tensor] = {}
    for t in range(T):
        w = weights[int(t >= T_in)]
        inp = torch.tensor(x[t])
        for k in range(L):
            p = [w[f"{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            steps[f"h_l{k}"].append((inp.detach(), tuple(s.detach() for s in state[k]), p))
            state[k], _ = cell_step(cell, inp, state[k], *p)
            hs[f"h_l{k}"].append(state[k][0])
            inp = state[k][0]
        valid = targets[t] != -100
        if t >= T_in and valid.any():
            logits = inp @ w["head.weight"].T + w["head.bias"]
            losses[t] = F.cross_entropy(logits[valid], torch.tensor(targets[t][valid]))
    nodes = list(hs)
    flat = [h for n in nodes for h in hs[n]]
    ks = sorted(losses)
    flow = {n: np.zeros((len(ks), T)) for n in nodes}
    for row, k in enumerate(ks):
        for i, g in enumerate(torch.autograd.grad(losses[k], flat, retain_graph=True, allow_unused=True)):
            if g is not None:
                flow[nodes[i // T]][row, i % T] = float(torch.linalg.vector_norm(g, dim=1).mean())
    total = torch.autograd.grad(sum(losses.values()), flat, retain_graph=True)
    grad_norms = {n: np.array([float(torch.linalg.vector_norm(g, dim=1).mean()) for g in total[j * T:(j + 1) * T]])
                  for j, n in enumerate(nodes)}
    return {"loss": float(sum(losses.values()).detach()), "ks": np.array(ks), "flow": flow, "grad_norms": grad_norms,
            "jacobians": {n: _jacobian_norms(cell, steps[n], H) for n in nodes}}


def _jacobian_norms(cell: str, steps: list, H: int) -> np.ndarray:
    """(T,) batch mean of ‖∂s_t/∂s_{t−1}‖₂ with step t's own weights (the context edge at t = T_in); NaN at 0."""
    out = np.full(len(steps), np.nan)
    for t, (x_t, prev, p) in enumerate(steps):
        if t == 0:
            continue
        weights = [w.detach() for w in p]

        def step(flat: torch.Tensor) -> torch.Tensor:
            st = (flat[:, :H], flat[:, H:]) if cell == "lstm" else (flat,)
            return torch.cat(cell_step(cell, x_t, st, *weights)[0], dim=1)
        jac = torch.autograd.functional.jacobian(step, torch.cat(prev, dim=1), vectorize=True)
        per_batch = torch.stack([jac[b, :, b, :] for b in range(jac.shape[0])])
        out[t] = float(torch.linalg.matrix_norm(per_batch, ord=2).mean())
    return out


def joined_case(cell: str, layers: int, seed: int = 11):
    """A small random encoder–decoder and joined data: T_in = 5 encoder steps, T_out = 4 decoder steps
    (one decoder target missing)."""
    rng = np.random.default_rng(seed)
    T_in, T_out, B, V = 5, 4, 3, 4
    model = Seq2Seq.random(cell, V + 1, 5, V, num_layers=layers, seed=2)
    x = rng.standard_normal((T_in + T_out, B, V + 1))
    targets = np.full((T_in + T_out, B), -100)
    targets[T_in:] = rng.integers(0, V, (T_out, B))
    targets[T_in + 1, 0] = -100
    return model, x, targets, T_in


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers", [1, 2])
def test_joined_record_matches_torch(cell, layers):
    model, x, targets, T_in = joined_case(cell, layers)
    joined = model.run_joined(x, targets, T_in)
    ref = torch_joined(model, x, targets, T_in)
    assert joined.T == len(x) and joined.loss == pytest.approx(ref["loss"], rel=1e-12)
    for node in joined.node_names:
        assert_steps(joined.gradient_norms[node], ref["grad_norms"][node], f"gradient_norms[{node}]", tol=1e-9)
        ks, matrix = joined.flow_matrix(node)
        np.testing.assert_array_equal(ks, ref["ks"])
        assert_steps(matrix, ref["flow"][node], f"flow_matrix({node})", tol=1e-9, time_axes=(0, 1))
        np.testing.assert_allclose(joined.jacobian_norms[node], ref["jacobians"][node], rtol=1e-9, equal_nan=True)
    # the lesson's premise: every decoder loss reaches the encoder's first step through the context
    assert (joined.flow_matrix("h_l0")[1][:, 0] > 0).all()


def test_flow_rows_computed_a_few_loss_terms_at_a_time_are_the_same(monkeypatch):
    model, x, targets, T_in = joined_case("lstm", 2)
    whole = model.run_joined(x, targets, T_in).flow_matrix("h_l1")
    monkeypatch.setattr(engine.analysis.flow, "FLOW_MEMORY_BUDGET", 1)          # one loss term per chunk
    one_by_one = model.run_joined(x, targets, T_in).flow_matrix("h_l1")
    np.testing.assert_array_equal(whole[0], one_by_one[0])
    assert_steps(whole[1], one_by_one[1], "flow_matrix(h_l1)", tol=1e-12, time_axes=(0, 1))


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm"])
def test_joined_gradients_match_finite_differences(cell):
    model, x, targets, T_in = joined_case(cell, 2, seed=5)
    joined = model.run_joined(x, targets, T_in)

    def loss_of(state):
        return Seq2Seq.from_state_dict(state, cell, 2).run_joined(x, targets, T_in).loss
    # a fourth-order stencil: eps = 1e-2 keeps round-off (~1e-16·L/eps) below the small entries' gradients
    errors = compare_numeric(model.state_dict(), joined.grads, loss_of, eps=1e-2, max_entries=6)
    assert set(errors) == set(model.state_dict()) and max(errors.values()) < 1e-6, errors


def halves(model: Seq2Seq, x: np.ndarray, targets: np.ndarray, T_in: int):
    """The encoder–decoder as two separate plain runs: the encoder's forward pass, the decoder from
    its final state, then the encoder again with the gradient that crossed the context."""
    no_loss = np.full((T_in, x.shape[1]), IGNORE)
    context = state_at(model.encoder.run(x[:T_in], no_loss), -1)
    decoder = model.decoder.run(x[T_in:], targets[T_in:], initial_state=context)
    encoder = model.encoder.run(x[:T_in], no_loss, final_state_grads=decoder.initial_state_grads)
    return encoder, decoder


def test_joined_activations_and_gradients_lie_on_one_axis():
    """One chained run records exactly what two separate runs joined by the context record."""
    model, x, targets, T_in = joined_case("lstm", 2)
    joined = model.run_joined(x, targets, T_in)
    enc, dec = halves(model, x, targets, T_in)
    for name in ("h_l1", "c_l0", "f_l1", "g_l0"):
        np.testing.assert_array_equal(joined.activations[name], np.concatenate([enc.activations[name], dec.activations[name]]))
        np.testing.assert_array_equal(joined.gradients[name], np.concatenate([enc.gradients[name], dec.gradients[name]]))
    expected = {f"encoder.{k}": v for k, v in enc.grads.items() if not k.startswith("head.")}
    expected.update({f"decoder.{k}": v for k, v in dec.grads.items()})
    assert list(joined.grads) == list(expected) == list(model.state_dict())
    for name, grad in expected.items():
        np.testing.assert_array_equal(joined.grads[name], grad, err_msg=name)
    assert np.isnan(joined.activations["logits"][:T_in]).all()              # the encoder emits nothing
    assert np.isnan(joined.gradients["probs"][:T_in]).all()
    np.testing.assert_array_equal(joined.activations["logits"][T_in:], dec.activations["logits"])
    np.testing.assert_array_equal(joined.x, x)
    assert (joined.targets[:T_in] == -100).all() and (joined.targets[T_in:] == targets[T_in:]).all()
    assert not joined.mask[:T_in].any() and joined.loss_t[:T_in].tolist() == [0.0] * T_in
    assert joined.loss == dec.loss
    contributions = joined.grad_contributions
    assert np.isnan(contributions["encoder.weight_hh_l0"][T_in:]).all()
    np.testing.assert_array_equal(contributions["encoder.weight_hh_l0"][:T_in], enc.grad_contributions["weight_hh_l0"])
    np.testing.assert_array_equal(contributions["decoder.head.weight"][T_in:], dec.grad_contributions["head.weight"])
    assert np.isnan(contributions["decoder.weight_hh_l0"][:T_in]).all() and "encoder.head.weight" not in contributions
    assert set(joined.params) == set(model.state_dict()) == set(joined.grads)


def test_a_chain_needs_a_unidirectional_network_and_segments_that_tile_the_axis():
    net = engine.Network.random("gru", 3, 4, 2, bidirectional=True)
    x, y = np.zeros((4, 1, 3)), np.zeros((4, 1), int)
    chain = [engine.Segment("a", 0, 2), engine.Segment("b", 2, 4)]
    with pytest.raises(ValueError, match="unidirectional"):
        engine.StepRun(net.arch, net.state_dict(), x, y, "cross_entropy", chain=chain)
    for bad in ([engine.Segment("a", 0, 2), engine.Segment("b", 3, 4)], [engine.Segment("a", 0, 3)]):
        with pytest.raises(ValueError, match="tile"):
            engine.StepRun(net.arch, net.state_dict(), x, y, "cross_entropy", chain=bad)


def test_joined_events_play_encoder_decoder_backward_then_the_encoder_back():
    model, x, targets, T_in = joined_case("gru", 2)
    joined = model.run_joined(x, targets, T_in)
    events = list(joined.events())
    T_out = len(x) - T_in
    schedule = engine.event_schedule(2, 1, engine.seq2seq_chain(T_in, T_in + T_out))
    assert len(events) == joined.event_count == schedule["total"] == 2 * 9 * 2 + 3 * 4
    phases = [e.phase for e in events]
    first_backward = phases.index("backward")
    forward, backward = events[:first_backward], events[first_backward:]
    assert all(e.phase == "forward" for e in forward) and all(e.phase == "backward" for e in backward)
    # the encoder emits no outputs and no losses; the decoder's are on its own columns
    assert {e.t for e in events if e.node in ("logits", "loss")} == set(range(T_in, len(x)))
    # forward: encoder columns before decoder columns; backward: decoder before the encoder, t falling
    h_forward = [e.t for e in forward if e.node == "h_l1"]
    assert h_forward == list(range(len(x)))
    h_backward = [e.t for e in backward if e.node == "h_l0"]
    assert h_backward == list(range(len(x) - 1, T_in - 1, -1)) + list(range(T_in - 1, -1, -1))
    assert backward[-1].node == "h_l0" and backward[-1].t == 0
    for e in events:
        if e.node.startswith("h_"):
            source = joined.activations if e.phase == "forward" else joined.gradients
            key = "h" if e.phase == "forward" else "dh"
            np.testing.assert_array_equal(e.values[key], source[e.node[:1] + e.node[1:]][e.t])


def test_joined_summary_has_a_trace_summary_shape_and_the_segments():
    task = make_task("reverse", 6, 2, seed=0)
    model = Seq2Seq.random("rnn_tanh", task.input_size, 12, task.output_size, seed=0, recurrent_scale=0.6)
    joined = model.run_joined(task.x, task.targets, task.encoder_steps)
    summary = joined.summary()
    single = engine.Network.random("rnn_tanh", 3, 4, 2).run(np.zeros((3, 1, 3)), np.zeros((3, 1), int)).summary()
    assert set(summary) == set(single) | {"segments"}
    assert summary["segments"] == [{"name": "encoder", "start": 0, "stop": 6}, {"name": "decoder", "start": 6, "stop": 12}]
    assert len(summary["loss_t"]) == 12 and len(summary["gradient_norms"]["h_l0"]) == 12
    vanishing = summary["vanishing"]["h_l0"]
    assert vanishing["k"] == 11 and vanishing["distance"][0] == 11
    np.testing.assert_allclose(vanishing["norms"], joined.flow_matrix("h_l0")[1][-1])
    # with a contracting W (radius 0.6) the gradient reaching the encoder fades towards its first step
    assert 0 < vanishing["factor"] < 1
    norms = summary["gradient_norms"]["h_l0"]
    assert norms[0] < 0.1 * norms[5]
    finding = [f for f in joined.diagnose(required_lag=11) if f.kind == "vanishing"]   # issue 21: against the lag
    assert finding and min(finding[0].steps) < 6          # it vanishes in the encoder
    assert set(joined.weight_spectra()) == {"encoder h_l0", "decoder h_l0"}


def test_joined_diagnosis_titles_each_half_and_shifts_the_decoder():
    """A ReLU decoder whose units never fire is found on the decoder's columns."""
    task = make_task("reverse", 4, 2, seed=0)
    model = Seq2Seq.random("rnn_relu", task.input_size, 8, task.output_size, seed=0)
    state = model.state_dict()
    state["decoder.bias_ih_l0"] = np.full_like(state["decoder.bias_ih_l0"], -50.0)
    model = Seq2Seq.from_state_dict(state, "rnn_relu")
    findings = model.run_joined(task.x, task.targets, 4).diagnose()
    dead = {f.title.split(":")[0]: f for f in findings if f.kind == "dead_relu"}
    assert dead["Decoder"].steps == [4, 5, 6, 7] and dead["Decoder"].numbers["share"] == 1.0
    assert all(s < 4 for s in getattr(dead.get("Encoder"), "steps", []))


def test_run_joined_refuses_a_split_that_leaves_a_half_empty():
    model, x, targets, _ = joined_case("gru", 1)
    for split in (0, len(x)):
        with pytest.raises(ValueError, match="encoder_steps"):
            model.run_joined(x, targets, split)


def test_the_trace_names_its_segments_and_the_step_run_streams_them_live():
    """The joined Trace is segmented and its stages are the halves (what the server sends as
    `segments`); Seq2Seq.steps_joined knows the same schedule before its first step and streams
    live exactly the events the recorded trace replays."""
    model, x, targets, T_in = joined_case("lstm", 1)
    trace = model.run_joined(x, targets, T_in)
    plain = engine.Network.random("lstm", 3, 4, 2).run(np.zeros((3, 1, 3)), np.zeros((3, 1), int))
    assert trace.segmented and not plain.segmented              # the server tells plain traces by this
    halves = [{"name": "encoder", "start": 0, "stop": 5}, {"name": "decoder", "start": 5, "stop": 9}]
    assert [seg.as_dict() for seg in trace.stages] == [seg.as_dict() for seg in engine.seq2seq_chain(T_in, len(x))] == halves
    assert trace.event_count == engine.event_schedule(1, 1, engine.seq2seq_chain(T_in, len(x)))["total"] \
        == len(list(trace.events()))
    run = model.steps_joined(x, targets, T_in)
    assert run.schedule == trace.schedule and [seg.as_dict() for seg in run.stages] == halves
    live, replayed = list(run), list(trace.events())
    assert [(e.phase, e.node, e.t) for e in live] == [(e.phase, e.node, e.t) for e in replayed]
    for a, b in zip(live, replayed):
        assert a.values.keys() == b.values.keys()
        for key in a.values:
            np.testing.assert_array_equal(a.values[key], b.values[key])
    assert run.trace.loss == trace.loss
    np.testing.assert_array_equal(run.trace.gradients["h_l0"], trace.gradients["h_l0"])


def test_trainer_steps_both_halves_along_the_joined_gradient():
    """One SGD epoch moves every parameter of both halves by −lr · ∂L/∂θ of run_joined; the record
    carries the joined loss and profiles."""
    task = make_task("reverse", 5, 3, seed=2)
    model = Seq2Seq.random("lstm", task.input_size, 6, task.output_size, seed=1)
    joined = model.run_joined(task.x, task.targets, 5)
    trainer = engine.Trainer(model, task.x, task.targets, "cross_entropy",
                             engine.TrainOptions(epochs=1, optimizer="sgd", lr=0.1), encoder_steps=5)
    (record,) = list(trainer.epochs())
    assert record.loss == joined.loss and record.updates == 1 and not record.diverged
    np.testing.assert_array_equal(record.gradient_norms["h_l0"], joined.gradient_norms["h_l0"])
    np.testing.assert_array_equal(record.loss_t, joined.loss_t)
    before, after = model.state_dict(), trainer.net.state_dict()
    assert isinstance(trainer.net, Seq2Seq) and set(after) == set(before) == set(joined.grads)
    for name in before:
        np.testing.assert_allclose(after[name], before[name] - 0.1 * joined.grads[name], rtol=1e-12, atol=1e-15,
                                   err_msg=name)


def test_trainer_learns_to_reverse_and_refuses_truncation():
    task = make_task("reverse", 6, 4, seed=0)
    model = Seq2Seq.random("gru", task.input_size, 16, task.output_size, seed=0, recurrent_scale=1.0)
    options = engine.TrainOptions(epochs=100, optimizer="adam", lr=0.01)
    records = list(engine.Trainer(model, task.x, task.targets, "cross_entropy", options, encoder_steps=6).epochs())
    assert len(records) == 100 and records[-1].loss < 0.05 * records[0].loss
    assert records[0].accuracy < 0.5 and records[-1].accuracy == 1.0
    for bad in (engine.TrainOptions(tbptt=(2, 2)), engine.TrainOptions(recurrent_gradient=False)):
        with pytest.raises(ValueError, match="full BPTT"):
            engine.Trainer(model, task.x, task.targets, "cross_entropy", bad, encoder_steps=6)
