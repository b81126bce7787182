"""Recursive networks over trees: parity with a recursive torch float64 graph (every node's h and
total gradient against its own scale, per-node contributions, parameter gradients), central finite
differences, the tree shapes, the event order (post-order forward, the reverse going back) and
the record's derived facts (edge Jacobians, flow by depth)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine_cases import assert_rel, assert_steps
from torch_topologies import tree_reference
from unrolled.engine.analysis.jacobians import spectral_norms
from unrolled.engine.tasks import TAGGED_CORPUS
from unrolled.engine.topologies import (SENTENCE_TREES, TREE_NODE, RecursiveNetwork, balanced_tree, parse_tree,
                                        tree_schedule)

TREES = {"I like cake": parse_tree(SENTENCE_TREES[0]), "garden": parse_tree(SENTENCE_TREES[7]),
         "balanced5": balanced_tree(5), "balanced8": balanced_tree(8), "leaf": balanced_tree(1)}
SIZES = [(3, 4, 3), (5, 6, 2), (2, 3, 4)]
CASES = list(itertools.product(TREES, ("cross_entropy", "mse"), range(len(SIZES)), (1, 2, 3)))


def _case(name, loss, size, B, seed=0):
    tree = TREES[name]
    I, H, O = SIZES[size]
    rng = np.random.default_rng(seed + 10 * size + B)
    net = RecursiveNetwork.random(I, H, O, seed=seed + size, recurrent_scale=None if size else 1.3)
    x = rng.normal(size=(len(tree.leaves), B, I))
    y = rng.integers(0, O, size=B) if loss == "cross_entropy" else rng.normal(size=(B, O))
    if loss == "cross_entropy" and B == 3:
        y[1] = -100                                          # the mean is over the entries with a target
    return tree, net, x, y


@pytest.mark.parametrize("name,loss,size,B", CASES, ids=[f"{n}-{l}-s{s}-B{b}" for n, l, s, b in CASES])
def test_torch_parity(name, loss, size, B):
    tree, net, x, y = _case(name, loss, size, B)
    tr = net.run(tree, x, y, loss)
    ref = tree_reference(net.state_dict(), tree.children, tree.leaf_position, x, y, loss)
    assert_steps(tr.activations["h"], ref["h"], "h")
    assert_steps(tr.gradients["h"], ref["dh"], "dh (per node)")
    assert_rel(tr.activations["logits"], ref["logits"], "logits")
    assert_rel(tr.gradients["logits"], ref["dlogits"], "dlogits")
    assert_rel(tr.loss, ref["loss"], "loss")
    for pname, g in ref["grads"].items():
        assert_rel(tr.grads[pname], g, f"grad {pname}")
        mine, theirs = tr.grad_contributions[pname], ref["contributions"][pname]
        assert np.array_equal(np.isnan(mine), np.isnan(theirs)), pname
        used = ~np.isnan(theirs)
        assert_steps(mine[used], theirs[used], f"contribution {pname}")


FD_CASES = list(itertools.product(["garden", "balanced5", "leaf"], ("cross_entropy", "mse"), range(len(SIZES)), (1, 2, 3)))


@pytest.mark.parametrize("name,loss,size,B", FD_CASES, ids=[f"{n}-{l}-s{s}-B{b}" for n, l, s, b in FD_CASES])
def test_finite_differences(name, loss, size, B):
    tree, net, x, y = _case(name, loss, size, B)
    worst = net.gradcheck(tree, x, y, loss)
    assert max(worst.values()) < 1e-7, worst


def test_edge_jacobians_are_exact():
    tree, net, x, y = _case("garden", "cross_entropy", 0, 2)
    tr = net.run(tree, x, y)
    h, p = tr.activations["h"], net.state_dict()
    for k in range(tree.size - 1):
        parent = tree.parent[k]
        w = p["weight_left"] if tree.side[k] == "left" else p["weight_right"]
        jac = (1 - h[parent] ** 2)[:, :, None] * w[None]
        assert_rel(tr.jacobian_norms[k], np.mean([np.linalg.norm(j, 2) for j in jac]), f"edge {k}")
    assert np.isnan(tr.jacobian_norms[tree.root])
    assert_rel(spectral_norms(jac), [np.linalg.norm(j, 2) for j in jac], "spectral norms")


def test_depth_profile_reads_the_node_norms():
    tree, net, x, y = _case("balanced8", "cross_entropy", 0, 2)
    tr = net.run(tree, x, y)
    prof = tr.depth_profile()
    assert prof["depth"] == [0, 1, 2, 3] and tree.height == 3
    norms = tr.gradient_norms
    for d in prof["depth"]:
        at = [norms[k] for k in range(tree.size) if tree.depth[k] == d]
        assert prof["mean"][d] == pytest.approx(np.mean(at), rel=1e-12)
    assert prof["leaves"]["depth"] == [3] * 8
    assert 0 < prof["factor"] < 10 and prof["bound"] == pytest.approx(1.3, rel=1e-12)


def test_events_post_order_forward_reverse_backward():
    tree, net, x, y = _case("garden", "mse", 2, 2)
    run = net.steps(tree, x, y, "mse")
    events = list(run)
    N = tree.size
    assert len(events) == run.schedule["total"] == 2 * N + 3 == tree_schedule(N)["total"]
    assert [e.t for e in events[:N]] == list(range(N)) and all(e.node == TREE_NODE for e in events[:N])
    assert [(e.phase, e.node) for e in events[N:N + 3]] == [("forward", "logits"), ("forward", "loss"),
                                                           ("backward", "logits")]
    assert [e.t for e in events[N + 3:]] == list(reversed(range(N)))
    replayed = list(run.trace.events())
    for a, b in zip(events, replayed):
        assert (a.phase, a.node, a.t) == (b.phase, b.node, b.t)
        for k in a.values:
            assert np.array_equal(a.values[k], b.values[k])
    assert events[N + 3].norm == pytest.approx(run.trace.gradient_norms[tree.root])
    run.trace.summary()


def test_tree_shapes():
    assert [parse_tree(s).words for s in SENTENCE_TREES] == [tuple(w for w, _ in s) for s in TAGGED_CORPUS]
    t = parse_tree("(I (like cake))")
    assert t.children == (None, None, None, (1, 2), (0, 3)) and t.depth == (1, 2, 2, 1, 0)
    assert t.bracket() == "(I (like cake))"
    for n in (1, 2, 3, 5, 8, 13, 16):
        b = balanced_tree(n)
        assert len(b.leaves) == n and b.height == int(np.ceil(np.log2(n))) and b.size == 2 * n - 1


@pytest.mark.parametrize("text", ["(a b c)", "(a (b))", "((a b)", "(a b))", "", ")"])
def test_bad_trees_are_value_errors(text):
    with pytest.raises(ValueError):
        parse_tree(text)


def test_bad_input_names_the_problem():
    net = RecursiveNetwork.random(3, 4, 2)
    tree = balanced_tree(4)
    with pytest.raises(ValueError, match="x must have shape"):
        net.run(tree, np.zeros((3, 1, 3)), np.array([0]))
    with pytest.raises(ValueError, match="targets"):
        net.run(tree, np.zeros((4, 1, 3)), np.array([5]))
    state = net.state_dict()
    state["weight_left"] = np.zeros((4, 3))
    with pytest.raises(ValueError, match="weight_left"):
        net.with_state(state)


def test_tree_trainer_learns():
    from unrolled import engine
    from unrolled.engine.topologies import TreeTrainer
    tree, net, x, y = _case("balanced8", "cross_entropy", 0, 3)
    trainer = TreeTrainer(net, tree, x, y, "cross_entropy", engine.TrainOptions(epochs=30, optimizer="adam", lr=0.05))
    records = list(trainer.epochs())
    assert len(records) == 30 and records[-1].loss < 0.2 * records[0].loss
    assert records[-1].gradient_norms[TREE_NODE].shape == (tree.size,)
    assert trainer.net.run(tree, x, y).loss < records[0].loss
    with pytest.raises(ValueError, match="tbptt"):
        TreeTrainer(net, tree, x, y, "cross_entropy", engine.TrainOptions(tbptt=(2, 2)))
