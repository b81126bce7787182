"""The built-in tasks (engine/tasks.py): shapes, targets, labels, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled.engine.tasks import NO_TARGET, SEQ2SEQ_TASKS, TASK_NAMES, make_task


@pytest.mark.parametrize("name", TASK_NAMES)
def test_shapes_labels_and_determinism(name):
    a = make_task(name, 15, 3, seed=7)
    b = make_task(name, 15, 3, seed=7)
    c = make_task(name, 15, 3, seed=8)
    T = 30 if name in SEQ2SEQ_TASKS else 15            # an encoder–decoder reads 15 steps and writes 15
    assert a.x.shape == (T, 3, a.input_size)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.targets, b.targets)
    assert not (np.array_equal(a.x, c.x) and np.array_equal(a.targets, c.targets))
    if a.loss == "cross_entropy":
        assert a.targets.shape == (T, 3) and a.targets.dtype.kind == "i"
        assert a.targets[a.has_target].max() < a.output_size
    else:
        assert a.targets.shape == (T, 3, a.output_size)
    labels = a.labels_for(2)
    assert len(labels["input_labels"]) == T and len(labels["target_labels"]) == T
    assert len(labels["output_labels"]) == a.output_size
    assert [lab is not None for lab in labels["target_labels"]] == a.has_target[:, 2].tolist()


def test_reverse_reads_the_symbols_then_writes_them_backwards_teacher_forced():
    d = make_task("reverse", 6, 4, seed=1)
    assert d.encoder_steps == 6 and d.output_size == 6 and d.input_size == 7        # A–F and <go>
    symbols = d.x[:6].argmax(axis=-1)
    assert not d.has_target[:6].any() and d.has_target[6:].all()
    assert np.array_equal(d.targets[6:], symbols[::-1])
    assert (d.x[6].argmax(axis=-1) == 6).all()                                       # <go>
    assert np.array_equal(d.x[7:].argmax(axis=-1), d.targets[6:-1])                  # the previous true symbol
    assert d.input_labels[0][6] == "<go>" and d.target_labels[0][6:] == d.input_labels[0][:6][::-1]


def test_copy_recalls_the_first_symbol_at_the_end_only():
    d = make_task("copy", 10, 5, seed=0)
    assert d.has_target[:-1].sum() == 0 and d.has_target[-1].all()
    assert np.array_equal(d.targets[-1], d.x[0].argmax(axis=-1))


def test_adding_target_is_the_sum_of_the_two_marked_numbers():
    d = make_task("adding", 20, 4, seed=3)
    assert np.all(d.x[:, :, 1].sum(axis=0) == 2)
    assert np.allclose(d.targets[-1, :, 0], (d.x[:, :, 0] * d.x[:, :, 1]).sum(axis=0))
    assert np.all(d.targets[:-1] == NO_TARGET)


def test_char_lm_predicts_the_next_character_of_the_given_text():
    d = make_task("char_lm", 5, 1, seed=0, text="hello world")
    labels = d.labels_for(0)
    assert labels["input_labels"] == ["h", "e", "l", "l", "o"]
    assert labels["target_labels"] == ["e", "l", "l", "o", "␣"]
    assert d.input_size == d.output_size == len(set("hello world"))
    long = make_task("char_lm", 50, 2, seed=0, text="ab")  # shorter than seq_len: repeated
    assert long.x.shape == (50, 2, 2)


def test_tagging_starts_with_i_like_cake_and_pads_with_no_target():
    d = make_task("tagging", 9, 2, seed=0)
    labels = d.labels_for(0)
    assert labels["input_labels"][:3] == ["I", "like", "cake"]
    assert labels["target_labels"][:3] == ["PRON", "VERB", "NOUN"]
    pad = [i for i, w in enumerate(labels["input_labels"]) if w == "<pad>"]
    assert all(d.targets[i, 0] == NO_TARGET for i in pad)
    assert all(d.targets[i, 0] != NO_TARGET for i in range(9) if i not in pad)


def test_sine_target_is_the_next_input():
    d = make_task("sine", 30, 2, seed=1)
    assert np.array_equal(d.targets[:-1, :, 0], d.x[1:, :, 0])


def test_unknown_task_is_a_value_error():
    with pytest.raises(ValueError, match="unknown task"):
        make_task("chess", 5, 1)
