"""Built-in toy tasks: the data a preset or a config runs the network on.

Pure NumPy, no web imports. Every task is a deterministic function of
(seq_len, batch_size, seed) (plus ``text`` for ``char_lm``) and returns a
:class:`TaskData` with inputs ``x`` (T, B, I), targets in the engine's format
(int class ids (T, B) for cross-entropy, floats (T, B, O) for mse, -100 where a
step has no target) and the labels the page shows on the unrolled graph.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

NO_TARGET = -100

TASK_NAMES = ("copy", "adding", "char_lm", "tagging", "sine", "reverse")
# Tasks read by an encoder–decoder: their data is the encoder's steps followed by the decoder's.
SEQ2SEQ_TASKS = ("reverse",)
WHOLE_SEQUENCE_TASKS = ("copy", "adding", "reverse")   # their loss needs the first input: lag T − 1 matters


def task_required_lag(name: str, T: int) -> int | None:
    """The lag a built-in task's loss needs (T − 1 for a task that must recall its first input over T
    steps), or None for a task with no such need (it gets its memory horizon reported instead)."""
    return T - 1 if name in WHOLE_SEQUENCE_TASKS and T > 1 else None

COPY_SYMBOLS = ("A", "B", "C", "D")
COPY_BLANK = "·"
COPY_RECALL = "?"

DEFAULT_TEXT = (
    "to be, or not to be, that is the question: whether 'tis nobler in the mind "
    "to suffer the slings and arrows of outrageous fortune, or to take arms "
    "against a sea of troubles and by opposing end them. to die, to sleep; no more; "
    "and by a sleep to say we end the heart-ache and the thousand natural shocks "
    "that flesh is heir to: 'tis a consummation devoutly to be wish'd. "
)

# A small hand-tagged corpus (universal part-of-speech tags). Sentence 0 is the
# lecture's example and always opens batch element 0.
TAGGED_CORPUS: tuple[tuple[tuple[str, str], ...], ...] = tuple(
    tuple(tuple(pair.split("/")) for pair in sentence.split())
    for sentence in (
        "I/PRON like/VERB cake/NOUN",
        "you/PRON like/VERB tea/NOUN",
        "the/DET cat/NOUN sleeps/VERB",
        "a/DET dog/NOUN runs/VERB fast/ADV",
        "she/PRON eats/VERB red/ADJ apples/NOUN",
        "we/PRON like/VERB the/DET old/ADJ book/NOUN",
        "the/DET big/ADJ dog/NOUN likes/VERB cake/NOUN",
        "he/PRON reads/VERB a/DET book/NOUN in/ADP the/DET garden/NOUN",
        "they/PRON run/VERB to/ADP the/DET park/NOUN",
        "I/PRON eat/VERB cake/NOUN with/ADP tea/NOUN",
        "the/DET small/ADJ cat/NOUN sleeps/VERB on/ADP the/DET bed/NOUN",
        "you/PRON read/VERB slowly/ADV",
        "a/DET red/ADJ apple/NOUN is/VERB sweet/ADJ",
        "she/PRON likes/VERB the/DET garden/NOUN",
        "we/PRON eat/VERB apples/NOUN and/CCONJ cake/NOUN",
        "the/DET old/ADJ man/NOUN walks/VERB slowly/ADV",
        "he/PRON likes/VERB tea/NOUN and/CCONJ cake/NOUN",
        "they/PRON sleep/VERB in/ADP the/DET park/NOUN",
    )
)
PAD_WORD = "<pad>"

REVERSE_SYMBOLS = ("A", "B", "C", "D", "E", "F")
GO = "<go>"


@dataclass(frozen=True)
class TaskData:
    """One batch of a built-in task, ready for ``Network.run(x, targets, loss)``.

    ``input_labels[b][t]`` names the input at step t of batch element b;
    ``target_labels[b][t]`` names its target (None where there is none);
    ``output_labels[o]`` names output unit o. Any of them may be None when the
    values are plain numbers (adding, sine).
    """

    name: str
    x: np.ndarray  # (T, B, I)
    targets: np.ndarray  # (T, B) int64 or (T, B, O) float64
    loss: str  # "cross_entropy" | "mse"
    input_size: int
    output_size: int
    input_labels: list[list[str]] | None
    target_labels: list[list[str | None]] | None
    output_labels: list[str] | None
    encoder_steps: int | None = None  # encoder–decoder tasks: x[:encoder_steps] is the encoder's input
    ids: np.ndarray | None = None  # (T, B) int64 symbol ids of a token task (x is their one-hot): an embedding reads them
    lengths: np.ndarray | None = None  # (B,) real steps per element when elements differ in length (padding after)

    @property
    def has_target(self) -> np.ndarray:
        """(T, B) bool: where a step carries a target (the -100 convention)."""
        if self.loss == "cross_entropy":
            return self.targets != NO_TARGET
        return ~np.all(self.targets == NO_TARGET, axis=-1)

    def labels_for(self, b: int) -> dict:
        """The labels of batch element ``b``, as the stream's meta message carries them."""
        return {
            "input_labels": None if self.input_labels is None else list(self.input_labels[b]),
            "target_labels": None if self.target_labels is None else list(self.target_labels[b]),
            "output_labels": None if self.output_labels is None else list(self.output_labels),
        }


def _one_hot(ids: np.ndarray, size: int) -> np.ndarray:
    """(T, B) int ids -> (T, B, size) float64 one-hot vectors."""
    out = np.zeros(ids.shape + (size,))
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out


def _symbol_task(name: str, ids: np.ndarray, targets: np.ndarray, vocabulary: list[str], outputs: list[str],
                 target_labels: list[list[str | None]], **extra) -> TaskData:
    """A cross-entropy task over one-hot symbols: ids (T, B) index `vocabulary` (the input units and
    the input labels), targets (T, B) index `outputs` (NO_TARGET where there is none)."""
    return TaskData(
        name=name,
        x=_one_hot(ids, len(vocabulary)),
        targets=targets,
        loss="cross_entropy",
        input_size=len(vocabulary),
        output_size=len(outputs),
        input_labels=[[vocabulary[i] for i in ids[:, b]] for b in range(ids.shape[1])],
        target_labels=target_labels,
        output_labels=list(outputs),
        ids=ids,
        **extra,
    )


def copy_task(seq_len: int, batch_size: int, seed: int) -> TaskData:
    """Recall the first symbol after seq_len steps: a many-to-one memory test.

    Step 0 shows one of the symbols A–D, the steps in between show a blank and
    the last step shows a recall cue "?"; only the last step has a target (the
    first symbol), so every gradient starts at L_{T-1} and must travel back to t=0.
    """
    rng = np.random.default_rng(seed)
    n_sym = len(COPY_SYMBOLS)
    blank, recall = n_sym, n_sym + 1
    first = rng.integers(0, n_sym, size=batch_size)
    ids = np.full((seq_len, batch_size), blank, dtype=np.int64)
    ids[0] = first
    ids[-1] = recall
    targets = np.full((seq_len, batch_size), NO_TARGET, dtype=np.int64)
    targets[-1] = first
    names = list(COPY_SYMBOLS) + [COPY_BLANK, COPY_RECALL]
    labels = [[None] * (seq_len - 1) + [COPY_SYMBOLS[first[b]]] for b in range(batch_size)]
    return _symbol_task("copy", ids, targets, names, list(COPY_SYMBOLS), labels)


def reverse_task(seq_len: int, batch_size: int, seed: int) -> TaskData:
    """Read seq_len symbols, then write them in reverse order: the encoder–decoder task.

    The data joins both halves on one time axis (2·seq_len steps): the encoder
    reads the symbols (no targets); the decoder reads <go> and then, teacher
    forced, the previous target, and must emit the input reversed. Its first
    output needs the encoder's last input and its last output the encoder's
    first, the step furthest back across the context.
    """
    rng = np.random.default_rng(seed)
    n_sym = len(REVERSE_SYMBOLS)
    go = n_sym
    symbols = rng.integers(0, n_sym, size=(seq_len, batch_size))
    wanted = symbols[::-1]
    decoder_in = np.concatenate([np.full((1, batch_size), go), wanted[:-1]])
    ids = np.concatenate([symbols, decoder_in])
    targets = np.concatenate([np.full((seq_len, batch_size), NO_TARGET), wanted]).astype(np.int64)
    names = list(REVERSE_SYMBOLS) + [GO]
    labels = [[None] * seq_len + [REVERSE_SYMBOLS[i] for i in wanted[:, b]] for b in range(batch_size)]
    return _symbol_task("reverse", ids, targets, names, list(REVERSE_SYMBOLS), labels, encoder_steps=seq_len)


def adding_task(seq_len: int, batch_size: int, seed: int) -> TaskData:
    """Hochreiter & Schmidhuber's adding problem (mse, target only at the end).

    Input channel 0 is a random number in [0, 1), channel 1 marks two steps
    (one in each half of the sequence); the target at the last step is the sum
    of the two marked numbers.
    """
    rng = np.random.default_rng(seed)
    values = rng.random((seq_len, batch_size))
    marks = np.zeros((seq_len, batch_size))
    half = max(seq_len // 2, 1)
    first = rng.integers(0, half, size=batch_size)
    second = rng.integers(half, seq_len, size=batch_size) if seq_len > 1 else first
    cols = np.arange(batch_size)
    marks[first, cols] = 1.0
    marks[second, cols] = 1.0
    x = np.stack([values, marks], axis=-1)  # (T, B, 2)
    targets = np.full((seq_len, batch_size, 1), float(NO_TARGET))
    targets[-1, :, 0] = (values * marks).sum(axis=0)
    input_labels = [
        [f"{values[t, b]:.2f}" + ("*" if marks[t, b] else "") for t in range(seq_len)]
        for b in range(batch_size)
    ]
    target_labels = [
        [None] * (seq_len - 1) + [f"{targets[-1, b, 0]:.2f}"] for b in range(batch_size)
    ]
    return TaskData(
        name="adding",
        x=x,
        targets=targets,
        loss="mse",
        input_size=2,
        output_size=1,
        input_labels=input_labels,
        target_labels=target_labels,
        output_labels=["sum"],
    )


def text_vocabulary(text: str) -> list[str]:
    """The sorted distinct characters of ``text``: char_lm's input and output units."""
    return sorted(set(text))


def _show_char(ch: str) -> str:
    """A visible label for a character (spaces and newlines would vanish on the graph)."""
    return {" ": "␣", "\n": "↵", "\t": "⇥"}.get(ch, ch)


def char_lm_task(seq_len: int, batch_size: int, seed: int, text: str | None = None) -> TaskData:
    """Predict the next character of a text (one-hot inputs, a target at every step).

    Each batch element reads a window of seq_len+1 characters starting at a
    seeded offset; a text shorter than that is repeated.
    """
    text = DEFAULT_TEXT if not text else text
    vocab = text_vocabulary(text)
    index = {ch: i for i, ch in enumerate(vocab)}
    need = seq_len + 1
    reps = -(-(need + len(text)) // len(text))  # enough copies for any offset
    long_text = text * reps
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, len(text), size=batch_size)
    offsets[0] = 0  # element 0 reads the text from its start
    windows = [long_text[o : o + need] for o in offsets]
    ids = np.array([[index[ch] for ch in w] for w in windows], dtype=np.int64).T  # (T+1, B)
    shown = [_show_char(ch) for ch in vocab]
    labels: list[list[str | None]] = [[_show_char(ch) for ch in w[1:]] for w in windows]
    return _symbol_task("char_lm", ids[:-1], ids[1:].copy(), shown, shown, labels)


def tagging_vocabulary() -> tuple[list[str], list[str]]:
    """(words, tags) of the built-in corpus; word 0 is the padding word."""
    words = sorted({w for s in TAGGED_CORPUS for w, _ in s})
    tags = sorted({t for s in TAGGED_CORPUS for _, t in s})
    return [PAD_WORD] + words, tags


def tagging_task(seq_len: int, batch_size: int, seed: int) -> TaskData:
    """Part-of-speech tagging of short sentences ("I like cake" → PRON VERB NOUN).

    Each batch element is a stream of whole sentences (element 0 starts with
    "I like cake", the others at seeded positions of a seeded order); the steps
    left over after the last sentence that fits are padding, with target -100, and
    ``lengths`` says where each element's padding starts (a run with it never reads the pads).
    """
    words, tags = tagging_vocabulary()
    word_id = {w: i for i, w in enumerate(words)}
    tag_id = {t: i for i, t in enumerate(tags)}
    rng = np.random.default_rng(seed)
    order = [0] + [int(i) + 1 for i in rng.permutation(len(TAGGED_CORPUS) - 1)]
    ids = np.zeros((seq_len, batch_size), dtype=np.int64)
    targets = np.full((seq_len, batch_size), NO_TARGET, dtype=np.int64)
    target_labels: list[list[str | None]] = []
    lengths: list[int] = []
    for b in range(batch_size):
        start = 0 if b == 0 else int(rng.integers(0, len(order)))
        pairs: list[tuple[str, str]] = []
        k = start
        while True:
            sentence = TAGGED_CORPUS[order[k % len(order)]]
            if len(pairs) + len(sentence) > seq_len:
                break
            pairs.extend(sentence)
            k += 1
        if not pairs:  # seq_len shorter than the sentence: take its beginning
            pairs = list(TAGGED_CORPUS[order[start % len(order)]][:seq_len])
        for t, (w, tag) in enumerate(pairs):
            ids[t, b] = word_id[w]
            targets[t, b] = tag_id[tag]
        target_labels.append([tag for _, tag in pairs] + [None] * (seq_len - len(pairs)))
        lengths.append(len(pairs))
    return _symbol_task("tagging", ids, targets, words, tags, target_labels,   # padding: id 0, PAD_WORD
                        lengths=np.array(lengths, dtype=np.int64))


def sine_task(seq_len: int, batch_size: int, seed: int) -> TaskData:
    """Predict the next value of a noisy sine wave (mse, a target at every step).

    Each batch element has its own seeded frequency and phase; the input at t
    is the noisy sample at t and the target the noisy sample at t+1.
    """
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.1, 0.4, size=batch_size)  # radians per step
    phase = rng.uniform(0, 2 * np.pi, size=batch_size)
    steps = np.arange(seq_len + 1)[:, None]  # (T+1, 1)
    wave = np.sin(freq * steps + phase) + 0.05 * rng.standard_normal((seq_len + 1, batch_size))
    x = wave[:-1, :, None]  # (T, B, 1)
    targets = wave[1:, :, None].copy()  # (T, B, 1)
    return TaskData(
        name="sine",
        x=x,
        targets=targets,
        loss="mse",
        input_size=1,
        output_size=1,
        input_labels=[[f"{v:.2f}" for v in wave[:-1, b]] for b in range(batch_size)],
        target_labels=[[f"{v:.2f}" for v in wave[1:, b]] for b in range(batch_size)],
        output_labels=["next"],
    )


TASK_LOSS = {
    "copy": "cross_entropy",
    "adding": "mse",
    "char_lm": "cross_entropy",
    "tagging": "cross_entropy",
    "sine": "mse",
    "reverse": "cross_entropy",
}

_BUILDERS: dict[str, Callable[..., TaskData]] = {
    "copy": copy_task,
    "adding": adding_task,
    "char_lm": char_lm_task,
    "tagging": tagging_task,
    "sine": sine_task,
    "reverse": reverse_task,
}


def with_fed_back_inputs(task: TaskData, x: np.ndarray, tokens: np.ndarray, start: int = 0) -> TaskData:
    """The task read free-running from step `start` on (0; an encoder–decoder's first decoder step):
    inputs ``x`` (T, B, I) whose step t+1 > start is the one-hot of ``tokens[t − start]`` (the network's
    own output), labelled by the output classes; targets unchanged."""
    names = task.output_labels
    input_labels = task.input_labels
    if names is not None and input_labels is not None:
        input_labels = [input_labels[b][:start + 1] + [names[int(i)] for i in tokens[:-1, b]]
                        for b in range(x.shape[1])]
    return replace(task, x=np.asarray(x), input_labels=input_labels, ids=None)


def make_task(
    name: str, seq_len: int, batch_size: int, seed: int = 0, text: str | None = None
) -> TaskData:
    """Build the named task's batch; ``text`` is used by ``char_lm`` only."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASK_NAMES)}")
    if seq_len < 1 or batch_size < 1:
        raise ValueError("seq_len and batch_size must be at least 1")
    if name == "char_lm":
        return char_lm_task(seq_len, batch_size, seed, text)
    return _BUILDERS[name](seq_len, batch_size, seed)
