"""A tree's record beyond the run: saved and loaded by engine.load_trace, and its findings (the
diagnosis's shared checks by node, the decay by depth)."""
from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from unrolled.engine.topologies import RecursiveNetwork, TreeTrace, balanced_tree, parse_tree


def test_engine_load_trace_reads_a_tree_back(tmp_path):
    tree = parse_tree("((the cat) (sleeps well))")
    net = RecursiveNetwork.random(3, 4, 2, seed=3)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    trace = net.run(tree, x, np.array([1, 0]))
    trace.save(tmp_path / "tree.npz")
    loaded = engine.load_trace(tmp_path / "tree.npz")
    assert isinstance(loaded, TreeTrace) and loaded.tree == tree and loaded.tree.words == ("the", "cat", "sleeps", "well")
    np.testing.assert_array_equal(loaded.gradients["h"], trace.gradients["h"])
    np.testing.assert_array_equal(loaded.jacobian_norms, trace.jacobian_norms)
    assert [(e.phase, e.node, e.t) for e in loaded.events()] == [(e.phase, e.node, e.t) for e in trace.events()]


def test_a_tree_file_whose_arrays_do_not_match_its_tree_is_refused(tmp_path):
    trace = RecursiveNetwork.random(3, 4, 2).run(balanced_tree(4), np.zeros((4, 1, 3)), np.array([1]))
    trace.activations["h"] = trace.activations["h"][:3]
    trace.save(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="do not match its tree"):
        engine.load_trace(tmp_path / "bad.npz")


def test_saturated_nodes_are_found_by_node_and_depth():
    net = RecursiveNetwork.random(3, 5, 4, seed=1, recurrent_scale=8.0)
    x = 5 * np.random.default_rng(0).standard_normal((32, 2, 3))
    findings = net.run(balanced_tree(32), x, np.array([1, 2])).diagnose()
    saturation = [f for f in findings if f.kind == "saturation"]
    assert len(saturation) == 1 and "node" in saturation[0].detail and "depth" in saturation[0].detail
    assert "t=" not in saturation[0].detail


def test_a_healthy_small_tree_has_no_finding():
    trace = RecursiveNetwork.random(3, 4, 2, seed=0).run(balanced_tree(4), np.ones((4, 1, 3)) * 0.1, np.array([1]))
    assert trace.diagnose() == []
