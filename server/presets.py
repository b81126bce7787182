"""The built-in presets: named configs, each telling one story in a sentence or two.

A preset is plain data (a partial config); fields sent beside a preset name
override it (see ``server.config.TraceConfig``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    """A named config with the title and story the page shows."""

    name: str
    title: str
    story: str
    config: dict = field(default_factory=dict)


PRESETS: tuple[Preset, ...] = (
    Preset(
        name="vanishing-tanh",
        title="Vanishing gradients in a tanh RNN",
        story=(
            "A plain tanh RNN must recall the first symbol after 40 steps. Its recurrent "
            "weights have spectral radius 0.8 and tanh' ≤ 1, so each step back in time "
            "shrinks ‖∂L/∂hₜ‖ by a factor ≤ 0.8: the first step gets almost no gradient."
        ),
        config={
            "cell": "rnn_tanh", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 40, "batch_size": 4, "recurrent_scale": 0.8,
            "seed": 0,
        },
    ),
    Preset(
        name="exploding",
        title="Exploding gradients with a large recurrent scale",
        story=(
            "The same RNN with ReLU units and recurrent weights of spectral radius 2: "
            "every step back can multiply the gradient by up to 2, so ‖∂L/∂h₀‖ is orders "
            "of magnitude larger than ‖∂L/∂h‖ at the last step."
        ),
        config={
            "cell": "rnn_relu", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 40, "batch_size": 4, "recurrent_scale": 2.0,
            "seed": 0,
        },
    ),
    Preset(
        name="lstm-memory",
        title="An LSTM keeps the gradient alive",
        story=(
            "An LSTM on the same recall task. With the forget gate biased open, the cell "
            "state carries the gradient back through cₜ = f⊙cₜ₋₁ + i⊙g almost "
            "unchanged, so the first step still receives a usable gradient."
        ),
        config={
            "cell": "lstm", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 40, "batch_size": 4, "recurrent_scale": 1.0,
            "forget_bias": 3.0, "seed": 0,
        },
    ),
    Preset(
        name="gru-memory",
        title="A GRU keeps the gradient alive",
        story=(
            "A GRU on the recall task, with recurrent weights of spectral radius 3 (a tanh RNN "
            "explodes there): its update gate z lets hₜ = (1−z)⊙n + z⊙hₜ₋₁ copy the state "
            "forward, and the gradient flows back along that shortcut, neither vanishing nor exploding."
        ),
        config={
            "cell": "gru", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 40, "batch_size": 4, "recurrent_scale": 3.0,
            "seed": 0,
        },
    ),
    Preset(
        name="bidirectional",
        title="Bidirectional flow",
        story=(
            "Two LSTMs read the sentence in opposite directions and the tagger sees both: "
            "the forward node's gradient flows back in time, the reverse node's forward in time. "
            "Padding is packed away: for a short sentence the reverse LSTM starts at its last word, not on the pads."
        ),
        config={
            "cell": "lstm", "task": "tagging", "hidden_size": 12, "num_layers": 1,
            "bidirectional": True, "seq_len": 12, "batch_size": 4, "recurrent_scale": 1.0,
            "seed": 0,
        },
    ),
    Preset(
        name="char-lm",
        title="A character-level language model",
        story=(
            "A tanh RNN predicts the next character of a text at every step, so every step "
            "has a loss and the gradient at hₜ sums the errors of all later predictions."
        ),
        config={
            "cell": "rnn_tanh", "task": "char_lm", "hidden_size": 32, "num_layers": 1,
            "bidirectional": False, "seq_len": 25, "batch_size": 4, "recurrent_scale": 0.9,
            "seed": 0,
        },
    ),
    Preset(
        name="pos-tagging",
        title="Tagging sentences: \"I like cake\", \"a dog runs fast\"",
        story=(
            "A many-to-many GRU gives each word its part of speech: I → PRON, like → VERB, "
            "cake → NOUN. Padding steps are not run at all (drawn dashed): no target, no loss, no gradient."
        ),
        config={
            "cell": "gru", "task": "tagging", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 8, "batch_size": 4, "recurrent_scale": 1.0,
            "seed": 0,
        },
    ),
    Preset(
        name="sequence-classification",
        title="A many-to-one sequence classifier",
        story=(
            "A GRU reads the whole sequence and answers once, at the last step: only the last step's loss "
            "exists, so every gradient in the network starts there and flows back in time."
        ),
        config={
            "cell": "gru", "task": "copy", "hidden_size": 16, "num_layers": 2,
            "bidirectional": False, "seq_len": 20, "batch_size": 8, "recurrent_scale": 1.0,
            "seed": 1,
        },
    ),
    Preset(
        name="generation",
        title="One-to-many: generation feeds the output back",
        story=(
            "The char-level RNN reads 't' and from then on its own argmax output ŷ(t), fed back as x(t+1); the "
            "targets stay the text's next characters. Fresh, it writes 'tdggg…' and never recovers. Train it "
            "(teacher forcing, 30 epochs): the teacher-forced loss falls to 30, but fed back one wrong "
            "character leads to the next ('to to  or ou…') and the loss stays at 50."
        ),
        config={
            "cell": "rnn_tanh", "task": "char_lm", "hidden_size": 32, "num_layers": 1,
            "bidirectional": False, "seq_len": 20, "batch_size": 4, "recurrent_scale": 0.9,
            "seed": 0, "unroll": "free_running", "epochs": 30, "optimizer": "adam", "lr": 0.01,
        },
    ),
    Preset(
        name="elman-context",
        title="Elman's context units: no gradient through W",
        story=(
            "The char-level RNN with Elman's context units: h(t−1) is copied into the context and treated as "
            "an input, so no gradient crosses W. L_k's gradient reaches h_k and stops — the ‖∂L_k/∂hₜ‖ heatmap "
            "is a diagonal (zero for every t < k), where full BPTT lets L₁₉ still reach h₀ (0.0025)."
        ),
        config={
            "cell": "rnn_tanh", "task": "char_lm", "hidden_size": 32, "num_layers": 1,
            "bidirectional": False, "seq_len": 20, "batch_size": 4, "recurrent_scale": 0.9,
            "seed": 0, "recurrent_gradient": False,
        },
    ),
    Preset(
        name="seq2seq",
        title="Encoder–decoder: reverse a sequence",
        story=(
            "An encoder GRU reads 8 symbols; its last state, the context, starts a decoder GRU that writes them "
            "reversed. All gradient reaching the encoder crosses the context and fades: h₀ gets 0.0054, 17× less "
            "than h₇; at seq_len 16, 0.0008 (vanishing). Train it (teacher forcing, 100 epochs): the loss falls "
            "from 14.5 to 0.25."
        ),
        config={
            "cell": "gru", "task": "reverse", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 8, "batch_size": 4, "recurrent_scale": 1.0,
            "seed": 0, "epochs": 100, "optimizer": "adam", "lr": 0.01,
        },
    ),
    Preset(
        name="clipping",
        title="Gradient clipping tames an explosion",
        story=(
            "The exploding ReLU RNN again: step through it and ‖∂L/∂hₜ‖ grows step after step "
            "back in time. Then train it with clip = 1: every update whose gradient norm exceeds 1 "
            "is rescaled to norm 1, so the loss stays finite where plain SGD diverges."
        ),
        config={
            "cell": "rnn_relu", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 30, "batch_size": 8, "recurrent_scale": 2.0,
            "seed": 0, "epochs": 50, "optimizer": "sgd", "lr": 0.01, "clip": 1.0,
        },
    ),
    Preset(
        name="truncated-bptt",
        title="Truncated backpropagation through time",
        story=(
            "An LSTM language model whose gradient is back-propagated only inside windows of 10 "
            "steps: cheaper updates, but no loss sends gradient further back than its window's "
            "start (see the block pattern of the ‖∂L_k/∂hₜ‖ heatmap). Train it to watch TBPTT learn."
        ),
        config={
            "cell": "lstm", "task": "char_lm", "hidden_size": 32, "num_layers": 1,
            "bidirectional": False, "seq_len": 40, "batch_size": 4, "recurrent_scale": 1.0,
            "forget_bias": 1.0, "seed": 0, "epochs": 30, "optimizer": "adam", "lr": 0.01,
            "tbptt": 10,
        },
    ),
    # ---- the lectures' cells (issue 13): numbers measured by tests/server/test_server_lecture_presets.py ----
    Preset(
        name="peephole-lstm",
        title="Peepholes: the LSTM's gates read the cell state",
        story=(
            "The lstm-memory recall task with peepholes: i and f also read c(t−1), o reads c(t). The cell state "
            "grows to |c| = 4.6 by the last step, so the output gate's peephole term Pᵒ⊙c(t) shifts its "
            "pre-activation by up to 0.59. The first step receives ‖∂L/∂h₀‖ = 0.123; the same weights with the "
            "peepholes zeroed (a plain LSTM) give 0.108."
        ),
        config={
            "cell": "lstm_peephole", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 40, "batch_size": 4, "recurrent_scale": 1.0,
            "forget_bias": 3.0, "seed": 0,
        },
    ),
    Preset(
        name="coupled-gates",
        title="Coupled gates: one gate fewer, the same memory path",
        story=(
            "The lstm-memory task with the input gate tied to 1 − f: 1,220 parameters instead of the LSTM's "
            "1,604. The memory path is the LSTM's (c(t−1) → c(t) scaled by f, mean f = 0.95 in both), but a "
            "cell that keeps 95 % also writes only 5 %: ‖∂L/∂c₀‖ = 0.013 against the LSTM's 0.154 on the same "
            "seed, and h₀ gets 0.0006 against 0.070."
        ),
        config={
            "cell": "lstm_coupled", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 40, "batch_size": 4, "recurrent_scale": 1.0,
            "forget_bias": 3.0, "seed": 0,
        },
    ),
    Preset(
        name="gru-lecture",
        title="The GRU as the lectures write it",
        story=(
            "The gru-memory task with the reset gate applied before the product, n = tanh(Uₙx + Wₙ(r⊙h(t−1)) + b), "
            "as in the lectures. The same seed draws the very same weights as torch's GRU, which applies r after "
            "Wₙh: flip \"GRU as in the lectures\" to compare — loss 1.43 here against 1.54, and ‖∂L/∂h₀‖ = 0.29 "
            "against 0.16."
        ),
        config={
            "cell": "gru_reset_before", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 40, "batch_size": 4, "recurrent_scale": 3.0,
            "seed": 0,
        },
    ),
)

PRESETS = PRESETS + (
    Preset(
        name="word-embeddings",
        title="Word embeddings: a learned row per word",
        story=(
            "The tagger reads eₜ = E[xₜ], a learned 8-number row of the embedding table E per word, instead of a "
            "one-hot vector. The batch uses 26 of the 44 words: after one backward pass exactly those 26 rows of "
            "E have a gradient, the other 18 (and <pad>, which only fills padding) get exactly 0. Train it (Adam, "
            "60 epochs): the loss falls from 24.0 to 0.30 and only those 26 rows ever move."
        ),
        config={
            "cell": "lstm", "task": "tagging", "hidden_size": 12, "num_layers": 1,
            "bidirectional": True, "seq_len": 12, "batch_size": 4, "recurrent_scale": 1.0,
            "seed": 0, "embedding_size": 8, "epochs": 60, "optimizer": "adam", "lr": 0.01,
        },
    ),
)

# The lectures' other topologies (issue 15; their stories are measured in tests/server/test_server_topologies.py).
PRESETS += (
    Preset(
        name="jordan-memory",
        title="Jordan's memory unit: the past fed forward, no error back",
        story=(
            "elman-context's data read by a Jordan net: a memory mₜ = 0.5·mₜ₋₁ + ŷₜ₋₁ (fixed weights) feeds "
            "the hidden layer (‖∂hₜ/∂mₜ‖ ≈ 1.1), but no error flows back through it: as with Elman's context "
            "units the ‖∂L_k/∂hₜ‖ heatmap is a diagonal (full BPTT: L₁₉ reaches h₀, 0.0025). Trained 30 "
            "epochs: Jordan 34.2, Elman 30.3."
        ),
        config={
            "cell": "rnn_tanh", "task": "char_lm", "hidden_size": 32, "num_layers": 1,
            "bidirectional": False, "seq_len": 20, "batch_size": 4, "seed": 0, "topology": "jordan",
            "alpha": 0.5, "epochs": 30, "optimizer": "adam", "lr": 0.01,
        },
    ),
    Preset(
        name="teacher-forcing",
        title="Teacher forcing: train time and test time",
        story=(
            "Recurrence only from the output to the hidden layer: hₜ reads x(t) and the previous output. "
            "At train time it reads the true y(t−1) (teacher forcing), so no gradient needs to cross time. "
            "Trained 30 epochs that way, the same weights score 27.9 teacher forced but 64.5 at test time, "
            "free running on their own outputs ('o to to to…'): the train/test mismatch. Switch unroll to compare."
        ),
        config={
            "cell": "rnn_tanh", "task": "char_lm", "hidden_size": 32, "num_layers": 1,
            "bidirectional": False, "seq_len": 20, "batch_size": 4, "seed": 0, "topology": "output_recurrence",
            "unroll": "teacher_forced", "epochs": 30, "optimizer": "adam", "lr": 0.01,
        },
    ),
    Preset(
        name="recursive-tree",
        title="A recursive network: a tree instead of a chain",
        story=(
            "The recall task's 32 symbols as the leaves of a balanced binary tree, the same U, W at every "
            "node and the loss at the root: the first symbol is 5 levels from the loss, not 31 steps. The "
            "gradient shrinks about as fast per level (×0.91) as a tanh chain's per step (×0.92), but crosses "
            "5 Jacobians instead of 31: the first leaf keeps 0.55 of the root's gradient, the chain's h₀ 0.07."
        ),
        config={
            "cell": "rnn_tanh", "task": "copy", "hidden_size": 16, "num_layers": 1,
            "bidirectional": False, "seq_len": 32, "batch_size": 4, "recurrent_scale": 1.0, "seed": 0,
            "topology": "recursive",
        },
    ),
)

PRESET_NAMES: tuple[str, ...] = tuple(p.name for p in PRESETS)
PRESETS_BY_NAME: dict[str, Preset] = {p.name: p for p in PRESETS}
