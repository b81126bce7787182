"""Jordan and output-recurrent networks: parity with torch float64 (every step's h, o, fed value and
gradients, each step against its own scale), central finite differences, the gradient stopping at
the fed value, and the chain machinery (events, schedule, replay) serving them unchanged."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine_cases import assert_rel, assert_steps
from torch_topologies import feedback_reference
from unrolled import engine
from unrolled.engine.gradcheck import compare_numeric
from unrolled.engine.topologies import FEEDS, FeedbackNetwork

SIZES = [(3, 4, 3, 5), (2, 6, 4, 7), (4, 3, 2, 3)]          # (I, H, O, T)
CASES = list(itertools.product(FEEDS, ("cross_entropy", "mse"), range(len(SIZES)), (1, 2, 3)))


def _data(I: int, O: int, T: int, B: int, loss: str, seed: int, sparse: bool = False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, I))
    if loss == "cross_entropy":
        y = rng.integers(0, O, size=(T, B))
        if sparse:
            y[rng.random((T, B)) < 0.3] = -100
    else:
        y = rng.normal(size=(T, B, O))
        if sparse:
            y[rng.random((T, B)) < 0.3] = -100
    return x, y


def _case(feed, loss, size, B, sparse=False):
    I, H, O, T = SIZES[size]
    seed = 7 * size + B + FEEDS.index(feed)
    net = FeedbackNetwork.random(I, H, O, feed=feed, alpha=0.6, seed=seed)
    x, y = _data(I, O, T, B, loss, seed + 100, sparse)
    return net, x, y


@pytest.mark.parametrize("feed,loss,size,B", CASES, ids=[f"{f}-{l}-s{s}-B{b}" for f, l, s, b in CASES])
def test_torch_parity(feed, loss, size, B):
    net, x, y = _case(feed, loss, size, B, sparse=(B == 3))
    tr = net.run(x, y, loss)
    ref = feedback_reference(net.state_dict(), x, y, loss, feed, 0.6)
    assert_steps(tr.activations["h_l0"], ref["h"], "h")
    assert_steps(tr.activations["logits"], ref["logits"], "logits")
    assert_steps(tr.activations["fed"], ref["fed"], "fed", tol=1e-7)
    assert_steps(tr.gradients["h_l0"], ref["dh"], "dh")
    assert_steps(tr.gradients["logits"], ref["dlogits"], "dlogits")
    assert_steps(tr.loss_t, ref["loss_t"], "loss_t")
    assert_rel(tr.loss, ref["loss"], "loss")
    assert list(tr.grads) == list(net.state_dict())
    for name, g in ref["grads"].items():
        assert_rel(tr.grads[name], g, f"grad {name}")
        assert_steps(tr.grad_contributions[name], ref["contributions"][name], f"contribution {name}")


@pytest.mark.parametrize("feed,loss,size,B", CASES, ids=[f"{f}-{l}-s{s}-B{b}" for f, l, s, b in CASES])
def test_finite_differences(feed, loss, size, B):
    """The gradient of the graph whose fed values are held at the run's values (the constants BPTT
    sees) equals central differences of that graph's loss."""
    net, x, y = _case(feed, loss, size, B)
    I, H, O, _ = SIZES[size]
    tr = net.run(x, y, loss)
    fed = tr.activations["fed"].copy()

    def loss_of(state):
        other = FeedbackNetwork(state, feed, 0.6)
        padded = np.concatenate([x, fed], axis=-1)          # the same constants, the perturbed weights
        chain = engine.Network(other.arch, other._as_chain(state, I, H, O))
        return chain.run(padded, y, loss, recurrent_gradient=False).loss

    worst = compare_numeric(net.state_dict(), tr.grads, loss_of, 1e-3)
    assert max(worst.values()) < 1e-7, worst


def test_gradient_stops_at_the_fed_value():
    """Changing the loss at step k changes ∂L/∂h only at step k: no gradient reaches the past."""
    net, x, y = _case("memory", "cross_entropy", 1, 2)
    T = x.shape[0]
    for k in range(T):
        only = np.full_like(y, -100)
        only[k] = y[k]
        tr = net.run(x, only, "cross_entropy")
        norms = tr.gradient_norms["h_l0"]
        assert norms[k] > 0 and np.all(np.delete(norms, k) == 0)
        assert np.all(tr.jacobian_norms["h_l0"][1:] == 0)             # the chain's recurrent edge: W_hh = 0
        assert np.all(tr.feedback["fed_jacobian_norms"][1:] > 0)      # the edge the gradient ignores is real


def test_teacher_forcing_feeds_the_truth_and_free_running_the_model():
    net, x, y = _case("teacher", "cross_entropy", 0, 2)
    fed = net.run(x, y, "cross_entropy").activations["fed"]
    assert np.array_equal(fed[1:], np.eye(3)[y[:-1]]) and not fed[0].any()
    free = net.with_feed("output").run(x, y, "cross_entropy")
    probs = free.activations["probs"]
    np.testing.assert_allclose(free.activations["fed"][1:], probs[:-1], rtol=1e-12)
    jordan = net.with_feed("memory").run(x, y, "cross_entropy")
    m = jordan.activations["fed"]
    np.testing.assert_allclose(m[1:], 0.6 * m[:-1] + jordan.activations["probs"][:-1], rtol=1e-12)


def test_events_replay_and_schedule_are_the_chains():
    net, x, y = _case("memory", "mse", 2, 3)
    run = net.steps(x, y, "mse")
    assert run.schedule == engine.plain_schedule(x.shape[0], 1, 1)
    events = list(run)
    trace = run.trace
    assert len(events) == trace.event_count == run.schedule["total"]
    for a, b in zip(events, engine.replay(trace)):
        assert (a.phase, a.node, a.t) == (b.phase, b.node, b.t)
        for k in a.values:
            assert np.array_equal(a.values[k], b.values[k])
    whole = net.run(x, y, "mse")
    assert whole.loss == trace.loss
    assert set(whole.grads) == set(trace.grads)
    trace.summary()                                           # the analysis serves it unchanged


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="feed"):
        FeedbackNetwork.random(2, 3, 2, feed="sideways")
    with pytest.raises(ValueError, match="alpha"):
        FeedbackNetwork.random(2, 3, 2, feed="memory", alpha=1.5)
    net = FeedbackNetwork.random(2, 3, 2, feed="memory")
    state = net.state_dict()
    state["weight_fh_l0"] = np.zeros((3, 5))
    with pytest.raises(ValueError, match="weight_fh_l0"):
        net.with_state(state)
    with pytest.raises(ValueError, match="x must have shape"):
        net.run(np.zeros((4, 1, 5)), np.zeros((4, 1), int))
