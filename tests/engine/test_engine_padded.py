"""Word embeddings and padded batches (`vocab_size`, `lengths`) equal torch float64, per timestep.

Every cell in the registry × {1, 2} layers × {uni, bi} × {embedding or not} × {lengths or not},
plus seeded random configurations (1–3 layers, batch 1–4, random lengths with the longest = T),
against the step-by-step torch model of torch_padded.py (every activation and total gradient, each
step against its own scale), torch.nn.RNN/LSTM/GRU on pack_padded_sequence(enforce_sorted=False)
for the standard cells, and central finite differences (engine.gradcheck) incl. embedding.weight.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pytest

from engine_cases import assert_rel, assert_steps
from torch_padded import jacobian_reference, padded_reference, torch_packed
from unrolled import engine

CELLS = list(engine.CELL_TYPES)                # every cell in the registry


@dataclass(frozen=True)
class Padded:
    """One configuration: a network, maybe with an embedding, on a batch maybe padded."""

    cell: str
    layers: int
    bidirectional: bool
    vocab: int | None
    padded: bool
    T: int = 5
    B: int = 3
    I: int = 3
    H: int = 4
    O: int = 3
    seed: int = 0

    @property
    def id(self) -> str:
        """Readable pytest id."""
        return (f"{self.cell}-L{self.layers}-{'bi' if self.bidirectional else 'uni'}-"
                f"{'emb' if self.vocab else 'dense'}-{'pad' if self.padded else 'full'}-B{self.B}-s{self.seed}")


MATRIX = [Padded(cell, layers, bi, vocab, padded, seed=k)
          for k, (cell, layers, bi, vocab, padded) in enumerate(itertools.product(
              CELLS, (1, 2), (False, True), (None, 6), (False, True)))]


def random_padded(count: int = 10, seed: int = 77) -> list[Padded]:
    """Seeded random configurations: every cell, 1–3 layers, batch 1–4, embeddings half the time."""
    rng = np.random.default_rng(seed)
    return [Padded(CELLS[k % len(CELLS)], int(rng.integers(1, 4)), bool(rng.integers(0, 2)),
                   (None, int(rng.integers(2, 9)))[int(rng.integers(0, 2))], True, T=int(rng.integers(2, 8)),
                   B=int(rng.integers(1, 5)), I=int(rng.integers(1, 5)), H=int(rng.integers(2, 6)),
                   O=int(rng.integers(2, 5)), seed=500 + k) for k in range(count)]


CONFIGS = MATRIX + random_padded()
parametrize = pytest.mark.parametrize("cfg", CONFIGS, ids=[c.id for c in CONFIGS])


def make_lengths(cfg: Padded, rng: np.random.Generator) -> np.ndarray | None:
    """Random lengths in [1, T] with the longest = T (None for a full batch)."""
    if not cfg.padded:
        return None
    lengths = rng.integers(1, cfg.T + 1, size=cfg.B)
    lengths[rng.integers(0, cfg.B)] = cfg.T
    if cfg.B > 1 and cfg.T > 1 and (lengths == cfg.T).all():
        lengths[0] = 1 + rng.integers(0, cfg.T - 1)
    return lengths


@dataclass
class Run:
    """The engine's trace and the torch reference of one configuration."""

    net: engine.Network
    x: np.ndarray
    targets: np.ndarray
    lengths: np.ndarray | None
    initial: dict
    final: dict
    trace: engine.Trace
    ref: object


@lru_cache(maxsize=None)
def run(cfg: Padded) -> Run:
    """Run (and cache) the engine and the torch reference, with random initial states and final-state gradients."""
    net = engine.Network.random(cell=cfg.cell, input_size=cfg.I, hidden_size=cfg.H, output_size=cfg.O,
                                num_layers=cfg.layers, bidirectional=cfg.bidirectional, seed=cfg.seed,
                                vocab_size=cfg.vocab)
    rng = np.random.default_rng(cfg.seed + 1)
    x = rng.integers(0, cfg.vocab, (cfg.T, cfg.B)) if cfg.vocab else rng.normal(size=(cfg.T, cfg.B, cfg.I))
    targets = rng.integers(0, cfg.O, (cfg.T, cfg.B))
    lengths = make_lengths(cfg, rng)
    parts = net.cell_impl.states
    initial = {f"{p}{n[1:]}": rng.normal(size=(cfg.B, cfg.H)) * 0.5 for p in parts for n in net.node_names}
    final = {f"{p}{n[1:]}": rng.normal(size=(cfg.B, cfg.H)) * 0.1 for p in parts for n in net.node_names}
    trace = net.run(x, targets, initial_state=initial, final_state_grads=final, lengths=lengths)
    ref = padded_reference(net.state_dict(), cfg.cell, cfg.layers, cfg.bidirectional, x, targets, "cross_entropy",
                           lengths, initial, final)
    return Run(net, x, targets, lengths, initial, final, trace, ref)


@parametrize
def test_loss_and_parameter_gradients(cfg):
    """L, L_t and every ∂L/∂θ (embedding.weight first, only rows of occurring tokens non-zero) equal torch."""
    r = run(cfg)
    assert_rel(r.trace.loss, r.ref.loss, "loss")
    assert_steps(r.trace.loss_t, r.ref.loss_t, "loss_t")
    assert list(r.trace.grads) == list(r.net.state_dict())
    for name, grad in r.ref.grads.items():
        assert_rel(r.trace.grads[name], grad, f"grads[{name}]")
    if cfg.vocab:
        assert list(r.trace.grads)[0] == "embedding.weight"
        occurring = np.zeros(cfg.vocab, bool)
        occurring[r.x[r.trace.valid] if r.lengths is not None else r.x.ravel()] = True
        assert not r.trace.grads["embedding.weight"][~occurring].any()


@parametrize
def test_activations_and_gradients_per_step(cfg):
    """Every activation (h, c, gates, embedding, logits, probs) and its total gradient, step by step;
    zero at padding."""
    r = run(cfg)
    assert set(r.ref.activations) <= set(r.trace.activations)
    for name, value in r.ref.activations.items():
        assert_steps(r.trace.activations[name], value, f"activations[{name}]")
        assert_steps(r.trace.gradients[name], r.ref.gradients[name], f"gradients[{name}]")
        if r.lengths is not None:
            assert not r.trace.activations[name][~r.trace.valid].any(), name
            assert not r.trace.gradients[name][~r.trace.valid].any(), name


@parametrize
def test_contributions_and_state_gradients(cfg):
    """Per-step contributions ‖∂L/∂θ at t‖_F (embedding.weight too), ∂L/∂h(−1), ∂L/∂c(−1)."""
    r = run(cfg)
    for name, per_step in r.ref.contributions.items():
        expected = np.linalg.norm(per_step.reshape(cfg.T, -1), axis=1)
        assert_steps(r.trace.grad_contributions[name], expected, f"grad_contributions[{name}]")
    for name, grad in r.ref.jacobian_norms.items():                     # the initial-state gradients
        assert_rel(r.trace.initial_state_grads[name], grad, f"initial_state_grads[{name}]")


@parametrize
def test_jacobians_and_flow(cfg):
    """Jacobian norms (padding and each element's first processed step excluded) and the flow matrix
    (means over the real entries) equal torch's."""
    r = run(cfg)
    valid = r.trace.valid if r.lengths is not None else np.ones((cfg.T, cfg.B), bool)
    for node in r.trace.node_names:
        expected = jacobian_reference(cfg.cell, r.net.state_dict(), node, r.ref.steps_of[node], valid)
        assert_steps(r.trace.jacobian_norms[node], expected, f"jacobian_norms[{node}]")
        ks, matrix = r.trace.flow_matrix(node)
        assert_steps(matrix, r.ref.flow[node][ks], f"flow[{node}]", time_axes=(0, 1))


@parametrize
def test_finite_differences(cfg):
    """engine.gradcheck (float64 central differences) on every parameter, embedding.weight included."""
    r = run(cfg)
    worst = engine.gradcheck(r.net, r.x, r.targets, max_entries=12, lengths=r.lengths)
    assert set(worst) == set(r.net.state_dict())
    assert max(worst.values()) < 1e-6, worst


STANDARD = [c for c in CONFIGS if c.cell in ("rnn_tanh", "rnn_relu", "lstm", "gru")]


@pytest.mark.parametrize("cfg", STANDARD, ids=[c.id for c in STANDARD])
def test_torch_pack_padded_sequence(cfg):
    """nn.RNN/LSTM/GRU + nn.Embedding on pack_padded_sequence(enforce_sorted=False): the padded output,
    h_n (each element's last processed state), ∂L/∂θ and ∂L/∂h_0 agree."""
    r = run(cfg)
    out, h_n, grads, init_grads = torch_packed(r.net.state_dict(), cfg.cell, cfg.layers, cfg.bidirectional, r.x,
                                               r.targets, r.lengths, r.initial, r.final)
    top = [f"h_l{cfg.layers - 1}"] + ([f"h_l{cfg.layers - 1}_reverse"] if cfg.bidirectional else [])
    assert_steps(np.concatenate([r.trace.activations[n] for n in top], axis=-1), out, "pad_packed output")
    lengths = r.lengths if r.lengths is not None else np.full(cfg.B, cfg.T)
    for name, value in h_n.items():
        last = np.zeros(cfg.B, int) if name.endswith("_reverse") else lengths - 1
        assert_rel(r.trace.activations[name][last, np.arange(cfg.B)], value, f"h_n[{name}]")
    for name, grad in grads.items():
        assert_rel(r.trace.grads[name], grad, f"grads[{name}] (nn module)")
    for name, grad in init_grads.items():
        assert_rel(r.trace.initial_state_grads[name], grad, f"initial_state_grads[{name}] (nn module)")


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c.padded][:12], ids=lambda c: c.id)
def test_steps_replay_and_save_load(cfg, tmp_path):
    """steps() yields the same events and trace as run(); replay equals the live events; a saved trace
    loads with lengths and the embedding."""
    r = run(cfg)
    live = r.net.steps(r.x, r.targets, initial_state=r.initial, final_state_grads=r.final, lengths=r.lengths)
    events = [(e.phase, e.node, e.t, {k: np.array(v) for k, v in e.values.items()}, e.norm) for e in live]
    assert len(events) == live.trace.event_count
    for (phase, node, t, values, norm), e in zip(events, live.trace.events()):
        assert (phase, node, t) == (e.phase, e.node, e.t)
        assert set(values) == set(e.values) and all(np.array_equal(values[k], e.values[k]) for k in values)
        assert norm == e.norm or (np.isnan(norm) and np.isnan(e.norm))
    assert live.trace.loss == r.trace.loss
    path = tmp_path / "padded.npz"
    r.trace.save(path)
    back = engine.load_trace(path)
    assert np.array_equal(back.lengths, r.trace.lengths) and back.vocab_size == cfg.vocab
    for name, value in r.trace.gradients.items():
        assert np.array_equal(back.gradients[name], value), name
    for node in r.trace.node_names:
        assert np.array_equal(back.jacobian_norms[node], r.trace.jacobian_norms[node], equal_nan=True)
        assert np.array_equal(back.gradient_norms[node], r.trace.gradient_norms[node], equal_nan=True)


def test_a_version_2_trace_file_still_loads(tmp_path):
    """A file written before vocab_size and lengths (format version 2) loads as an unpadded dense run."""
    import json
    net = engine.Network.random("gru", 3, 4, 2, seed=4)
    rng = np.random.default_rng(5)
    trace = net.run(rng.standard_normal((4, 2, 3)), rng.integers(0, 2, (4, 2)))
    trace.save(tmp_path / "v3.npz")
    with np.load(tmp_path / "v3.npz", allow_pickle=False) as data:
        files = {k: data[k] for k in data.files}
    meta = json.loads(str(files["meta"]))
    assert meta["version"] == 3 and meta["vocab_size"] is None and "lengths" not in files
    files["meta"] = np.array(json.dumps({k: v for k, v in meta.items() if k != "vocab_size"} | {"version": 2}))
    np.savez_compressed(tmp_path / "v2.npz", **files)
    loaded = engine.load_trace(tmp_path / "v2.npz")
    assert loaded.lengths is None and loaded.vocab_size is None
    np.testing.assert_array_equal(loaded.jacobian_norms["h_l0"], trace.jacobian_norms["h_l0"])


@pytest.mark.parametrize("bad", [[0, 3], [2, 6], [1.5, 2], [[2, 3]], [2], ["a", "b"]])
def test_bad_lengths_are_a_value_error_naming_lengths(bad):
    net = engine.Network.random("lstm", 3, 4, 2, seed=0)
    with pytest.raises(ValueError, match="lengths"):
        net.run(np.zeros((5, 2, 3)), np.zeros((5, 2), int), lengths=bad)


@pytest.mark.parametrize("ids, name", [([[0, 7]], "7"), ([[0, -1]], "-1"), ([[0.5, 1]], "0.5"), ([[np.nan, 1]], "nan")])
def test_bad_token_ids_are_a_value_error_naming_the_id(ids, name):
    net = engine.Network.random("gru", 3, 4, 2, seed=0, vocab_size=7)
    with pytest.raises(ValueError, match=name):
        net.run(np.array(ids), np.zeros((1, 2), int))


def test_from_state_dict_reads_the_embedding_and_tokens_of_shape_t():
    net = engine.Network.random("rnn_tanh", 3, 4, 2, num_layers=2, seed=0, vocab_size=5)
    state = net.state_dict()
    assert list(state)[0] == "embedding.weight" and state["embedding.weight"].shape == (5, 3)
    back = engine.Network.from_state_dict(state, cell="rnn_tanh")
    assert back.vocab_size == 5 and back.num_layers == 2
    trace = back.run([1, 4, 0], [0, 1, 1])
    np.testing.assert_array_equal(trace.activations["embedding"][:, 0], state["embedding.weight"][[1, 4, 0]])
    with pytest.raises(ValueError, match="embedding.weight"):
        engine.Network.from_state_dict({**state, "embedding.weight": np.zeros((5, 2))}, cell="rnn_tanh")


def test_reverse_direction_of_a_short_element_starts_at_its_last_word():
    """The reverse direction's first processed step of element b is t = lengths[b] − 1, from h(−1) = 0:
    it equals a run on that element alone, cut to its length."""
    net = engine.Network.random("lstm", 3, 4, 2, bidirectional=True, seed=1, vocab_size=9)
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 9, (6, 2)), rng.integers(0, 2, (6, 2))
    padded = net.run(x, y, lengths=[6, 3])
    alone = net.run(x[:3, 1], y[:3, 1])
    for name in ("h_l0_reverse", "c_l0", "h_l0"):
        np.testing.assert_allclose(padded.activations[name][:3, 1], alone.activations[name][:, 0], rtol=1e-12)
        np.testing.assert_allclose(padded.gradients[name][:3, 1] * 2, alone.gradients[name][:, 0], rtol=1e-12,
                                   atol=1e-15)


def test_trainer_honours_lengths_and_the_embedding():
    """Training on a padded batch equals training on the unpadded elements' summed losses' gradients at
    epoch 1, and only the rows of tokens in the batch move under SGD."""
    net = engine.Network.random("gru", 3, 5, 2, bidirectional=True, seed=3, vocab_size=10)
    rng = np.random.default_rng(4)
    x, y = rng.integers(0, 6, (5, 3)), rng.integers(0, 2, (5, 3))
    trainer = engine.Trainer(net, x, y, "cross_entropy", engine.TrainOptions(epochs=2, optimizer="sgd", lr=0.1),
                             lengths=[5, 2, 4])
    record = next(trainer.epochs())
    assert record.loss == pytest.approx(net.run(x, y, lengths=[5, 2, 4]).loss, rel=1e-12)
    moved = np.abs(trainer.net.state_dict()["embedding.weight"] - net.state_dict()["embedding.weight"]).sum(axis=1)
    assert (moved[6:] == 0).all() and (moved[np.unique(x[:2])] > 0).all()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_truncation_and_elman_chains_honour_lengths(cell, k):
    """truncate=k (k = 1: Elman's context units) with lengths equals running each k-step window alone
    from the detached state (engine.tbptt.window_runs, window lengths): loss, ∂L/∂θ and ∂L/∂h per step;
    the padded entries' carried gradient crosses the windows' cuts untouched."""
    from unrolled.engine.tbptt import truncation_windows, window_runs
    net = engine.Network.random(cell, 3, 4, 3, num_layers=2, seed=7, vocab_size=6)
    rng = np.random.default_rng(8)
    x, y, lengths = rng.integers(0, 6, (7, 3)), rng.integers(0, 3, (7, 3)), np.array([7, 3, 5])
    final = {f"h{n[1:]}": rng.normal(size=(3, 4)) for n in net.node_names}
    chained = net.run(x, y, lengths=lengths, **({"recurrent_gradient": False} if k == 1 else {"truncate": k}))
    grads = {name: np.zeros_like(v) for name, v in net.state_dict().items()}
    dh = {n: np.zeros((7, 3, 4)) for n in net.node_names}
    loss = 0.0
    run = lambda xw, tw, initial, lw: net.run(xw, tw, initial_state=initial, lengths=lw)   # noqa: E731
    for window, trace in window_runs(run, x, y, "cross_entropy", truncation_windows(7, k), lengths):
        loss += trace.loss
        for name, g in trace.grads.items():
            grads[name] += g
        for n in dh:
            dh[n][window.start:window.end] += trace.gradients[n]
    assert_rel(chained.loss, loss, "loss")
    for name, g in grads.items():
        assert_rel(chained.grads[name], g, f"grads[{name}]")
    valid = chained.valid[..., None]
    for n in dh:
        assert_steps(chained.gradients[n], np.where(valid, dh[n], 0), f"gradients[{n}]")
    with_final = net.run(x, y, lengths=lengths, truncate=k, final_state_grads=final) if k > 1 else None
    if with_final is not None:          # a padded element's final gradient reaches its last real step across cuts
        last = lengths - 1
        for n in net.node_names[-1:]:          # the top layer (below it the gradient also flows down)
            arrived = with_final.gradients[n][last, np.arange(3)] - chained.gradients[n][last, np.arange(3)]
            assert_rel(arrived, final[f"h{n[1:]}"], f"final-state gradient at the last real step of {n}")


def test_seq2seq_with_embeddings_matches_finite_differences():
    """An encoder–decoder with a table per half: both tables' gradients against central differences."""
    from unrolled.engine.gradcheck import compare_numeric
    model = engine.Seq2Seq.random("gru", 3, 4, 5, seed=2, vocab_size=6)
    assert "encoder.embedding.weight" in model.state_dict() and "decoder.embedding.weight" in model.state_dict()
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 6, (7, 2)), rng.integers(0, 5, (7, 2))
    trace = model.run_joined(x, y, 3)
    assert list(trace.grads) == list(model.state_dict())
    worst = compare_numeric(model.state_dict(), trace.grads,
                            lambda state: model.with_state(state).run_joined(x, y, 3, contributions=False).loss, 1e-3)
    assert max(worst.values()) < 1e-6, worst
    used = np.unique(x[:3])
    enc = trace.grads["encoder.embedding.weight"]
    assert set(np.flatnonzero(np.abs(enc).sum(axis=1))) <= set(used)


def test_padding_is_not_read_as_vanishing_or_closed_gates():
    """Steps that are padding for every element have no gradient to measure: the profiles are NaN there
    (not 0), the vanishing fit leaves them out, and the diagnosis reads neither padding's zero gradients
    as vanishing nor its zero gates as closed forget gates or saturation."""
    net = engine.Network.random("lstm", 3, 6, 3, bidirectional=True, seed=11, vocab_size=8, forget_bias=2.0)
    rng = np.random.default_rng(12)
    x, y, lengths = rng.integers(0, 8, (9, 2)), rng.integers(0, 3, (9, 2)), np.array([4, 3])
    trace = net.run(x, y, lengths=lengths)
    for node in trace.node_names:
        assert np.isnan(trace.gradient_norms[node][4:]).all() and np.isfinite(trace.gradient_norms[node][:4]).all()
        assert np.isnan(trace.jacobian_norms[node][4:]).all()
        profile = trace.vanishing(node)
        assert np.isnan(profile["distance"][4:]).all()
    cut = net.run(x[:4], y[:4], lengths=lengths)
    for node in trace.node_names:
        np.testing.assert_allclose(trace.gradient_norms[node][:4], cut.gradient_norms[node], rtol=1e-12)
    kinds = {(f.kind, f.node) for f in trace.diagnose()}
    assert kinds == {(f.kind, f.node) for f in cut.diagnose()}
    assert not any(kind in ("forget_gate", "saturation") for kind, _ in kinds)
    assert all(max(f.steps, default=0) < 4 for f in trace.diagnose())
