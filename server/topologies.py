"""The lectures' other topologies as model sources: Jordan networks, output-to-hidden recurrence
(teacher forced or free running) and recursive networks over trees (engine.topologies).

`model_source.build_model` hands a config whose `topology` is not "chain" to `topology_source`;
the sources answer `unroll`, `steps`, `run`, `trainer`, `segments` like any ModelSource, plus
`meta_extra` (what the page needs to draw them: the fed value, the tree).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from unrolled import engine
from unrolled.engine.tasks import NO_TARGET, TAGGED_CORPUS, TaskData, tagging_vocabulary, with_fed_back_inputs
from unrolled.engine.topologies import (SENTENCE_TREES, FeedbackNetwork, RecursiveNetwork, Tree, TreeTrainer,
                                        balanced_tree, parse_tree)
from unrolled.server.config import TraceConfig

TREE_TASKS = ("copy", "tagging")       # copy: a balanced tree over the sequence; tagging: a sentence's parse tree


class TopologySource:
    """What every model source answers (server.model_source.ModelSource's interface), for a model
    that is not a chain network: no chain options, one part, no network for compare."""

    network = None                      # compare reads a chain network's weights

    def __init__(self, config: TraceConfig, model: Any) -> None:
        self.config, self.model = config, model

    def options(self) -> dict:
        """No chain options (truncation, context units)."""
        return {}

    def steps(self, x: np.ndarray, targets: np.ndarray, loss: str) -> Any:
        """A step-wise run: iterate it for Events; `schedule` and `stages` at once, `trace` at the end."""
        return self.model.steps(x, targets, loss=loss)

    def run(self, x: np.ndarray, targets: np.ndarray, loss: str) -> Any:
        """The whole forward and backward pass."""
        return self.model.run(x, targets, loss=loss)

    def segments(self, T: int) -> None:
        """One part."""
        return None


class FeedbackSource(TopologySource):
    """A Jordan network (topology "jordan", memory α = config.alpha) or an output-recurrent one
    (topology "output_recurrence": teacher forced, or free running on its own outputs). Compare takes
    it as a network (`network`): its run is a chain of T steps whose gradient stops at the fed value."""

    network = property(lambda self: self.model, doc="the model, for /api/compare (runs like a chain Network)")

    def unroll(self, task: TaskData) -> TaskData:
        """Free running on a character model: its argmax outputs are its next inputs too."""
        if self.config.unroll != "free_running" or task.name != "char_lm":
            return task
        first = task.x[0].astype(self.config.dtype)
        x, tokens = self.model.free_run(first, task.x.shape[0])
        return with_fed_back_inputs(task, x, tokens)

    def trainer(self, x: np.ndarray, targets: np.ndarray, loss: str, options: engine.TrainOptions) -> engine.Trainer:
        """engine.Trainer on the model; an output-recurrent net is trained teacher forced (train time)."""
        model = self.model.with_feed("teacher") if self.model.feed == "output" else self.model
        return engine.Trainer(model, x, targets, loss, options)

    def meta_extra(self) -> dict:
        """The fed value for the page: which feed, α, and the fed edge (output → hidden)."""
        return {"topology": {"name": self.config.topology, "feed": self.model.feed, "alpha": self.model.alpha,
                             "fed_size": self.model.output_size}}


class TreeSource(TopologySource):
    """A recursive network over a balanced tree (copy: the sequence's symbols are the leaves) or
    sentences' parse trees of one shape (tagging: sentence `seed` mod 18 of the corpus and the
    corpus's other sentences parsed alike, one per batch entry; their last word's tag at the root).
    Every run also records the same data as a chain of n tanh steps (`trace.comparison`)."""

    def __init__(self, config: TraceConfig, model: RecursiveNetwork, tree: engine.topologies.Tree,
                 data: TaskData | None) -> None:
        super().__init__(config, model)
        self.tree, self._data = tree, data

    def unroll(self, task: TaskData) -> TaskData:
        """The data the tree reads: the task itself (copy) or the sentences (tagging)."""
        return self._data if self._data is not None else task

    def _inputs(self, x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The leaves' inputs and the root's targets (the last step's, as the chain's many-to-one)."""
        if self._data is not None and x.shape[0] != len(self.tree.leaves):       # a training run's raw batch
            x, targets = self._data.x.astype(x.dtype), self._data.targets
        return x, targets[-1]

    def comparison(self, x: np.ndarray, targets: np.ndarray, loss: str) -> dict:
        """The same data as a chain: an Elman net (tanh, this config's seed and recurrent_scale) over the
        leaves' n inputs, ‖∂L_{n−1}/∂h_t‖ of its last loss and the fitted decay per step."""
        x, targets = self._inputs(x, targets)
        full = np.full((x.shape[0],) + targets.shape, NO_TARGET, dtype=targets.dtype) if loss == "cross_entropy" \
            else np.zeros((x.shape[0],) + targets.shape, dtype=targets.dtype)
        full[-1] = targets
        net = engine.Network.random("rnn_tanh", x.shape[-1], self.config.hidden_size, self.model.output_size,
                                    seed=self.config.seed, recurrent_scale=self.config.recurrent_scale,
                                    dtype=self.model.dtype)
        profile = net.run(x, full, loss=loss).vanishing("h_l0")
        return {"distance": np.asarray(profile["distance"]).tolist(), "norms": np.asarray(profile["norms"]).tolist(),
                "factor": float(profile["factor"]), "steps": int(x.shape[0]),
                "label": f"the same data as a chain of {x.shape[0]} tanh steps (a fresh Elman net seeded alike)"}

    def steps(self, x: np.ndarray, targets: np.ndarray, loss: str) -> Any:
        """The step-wise run over the tree (post-order forward, the reverse backward)."""
        run = self.model.steps(self.tree, *self._inputs(x, targets), loss=loss)
        run.comparison = self.comparison(x, targets, loss)
        return run

    def run(self, x: np.ndarray, targets: np.ndarray, loss: str) -> Any:
        """Forward and back-propagation through structure at once."""
        trace = self.model.run(self.tree, *self._inputs(x, targets), loss=loss)
        trace.comparison = self.comparison(x, targets, loss)
        return trace

    def trainer(self, x: np.ndarray, targets: np.ndarray, loss: str, options: engine.TrainOptions) -> TreeTrainer:
        """A TreeTrainer on the tree's batch."""
        return TreeTrainer(self.model, self.tree, *self._inputs(x, targets), loss, options)

    def meta_extra(self) -> dict:
        """The tree's shape for the page; the stream's axis is the nodes in post-order (T = N, the one
        loss at the root)."""
        return tree_meta(self.tree)


def tree_meta(tree: engine.topologies.Tree) -> dict:
    """What the stream's meta adds for a tree (a run's, or a loaded trace's)."""
    N = tree.size
    return {"topology": {"name": "recursive"}, "tree": tree.as_dict(), "T": N, "has_target": [False] * (N - 1) + [True]}


def loaded_meta_extra(trace: Any) -> dict:
    """What a loaded trace's meta adds: a tree's shape, or a feedback network's fed value; {} for a chain."""
    if isinstance(trace, engine.topologies.TreeTrace):
        return tree_meta(trace.tree)
    if isinstance(trace, engine.topologies.FeedbackTrace):
        fb = trace.feedback
        return {"topology": {"name": "jordan" if fb["feed"] == "memory" else "output_recurrence", "feed": fb["feed"],
                             "alpha": fb["alpha"], "fed_size": fb["fed_size"]}}
    return {}


def same_shape_sentences(index: int, batch_size: int) -> list[int]:
    """Corpus sentence `index` and, for the other batch entries, the next sentences whose parse tree
    has the same shape (cycling): a batch runs one tree shape, each entry with its own words."""
    trees = [parse_tree(text) for text in SENTENCE_TREES]
    first = index % len(trees)
    order = [(first + i) % len(trees) for i in range(len(trees))]
    same = [i for i in order if trees[i].children == trees[first].children]
    return [same[b % len(same)] for b in range(batch_size)]


def sentence_task(index: int, batch_size: int) -> TaskData:
    """Sentences of the tagging corpus parsed like sentence `index` (same_shape_sentences), each
    entry's last word's tag the target at the last step: the data a parse tree reads."""
    words, tags = tagging_vocabulary()
    sentences = [TAGGED_CORPUS[i] for i in same_shape_sentences(index, batch_size)]
    T = len(sentences[0])
    x = np.zeros((T, batch_size, len(words)))
    targets = np.full((T, batch_size), NO_TARGET, dtype=np.int64)
    for b, sentence in enumerate(sentences):
        x[np.arange(T), b, [words.index(w) for w, _ in sentence]] = 1.0
        targets[-1, b] = tags.index(sentence[-1][1])
    labels = [[w for w, _ in sentence] for sentence in sentences]
    return TaskData("tagging", x, targets, "cross_entropy", len(words), len(tags), labels,
                    [[None] * (T - 1) + [sentence[-1][1]] for sentence in sentences], list(tags))


def topology_source(config: TraceConfig, task: TaskData, model: Any = None) -> TopologySource:
    """The model source of a config whose topology is not "chain" (a new seeded model, or `model`)."""
    dtype = np.dtype(config.dtype)
    if config.topology in ("jordan", "output_recurrence"):
        feed = "memory" if config.topology == "jordan" else (
            "output" if config.unroll == "free_running" else "teacher")
        if model is None:
            model = FeedbackNetwork.random(task.input_size, config.hidden_size, task.output_size, feed=feed,
                                           alpha=config.alpha, seed=config.seed, dtype=dtype)
        return FeedbackSource(config, model if model.feed == feed else model.with_feed(feed))
    data = sentence_task(config.seed, config.batch_size) if config.task == "tagging" else None
    read = data or task
    tree = (Tree(parse_tree(SENTENCE_TREES[config.seed % len(SENTENCE_TREES)]).children,
                 tuple(data.input_labels[config.batch_index])) if data is not None
            else balanced_tree(read.x.shape[0], tuple(read.input_labels[config.batch_index])
                               if read.input_labels else None))
    if model is None:
        model = RecursiveNetwork.random(read.input_size, config.hidden_size, read.output_size, seed=config.seed,
                                        recurrent_scale=config.recurrent_scale, dtype=dtype)
    return TreeSource(config, model, tree, data)


def _mrow(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def _sub(base: str, index: str) -> str:
    return f"<msub><mi>{base}</mi><mrow>{index}</mrow></msub>"


_T, _T1 = "<mi>t</mi>", "<mi>t</mi><mo>−</mo><mn>1</mn>"
_YHAT = "<msub><mover><mi>y</mi><mo>^</mo></mover><mrow>" + _T1 + "</mrow></msub>"


def _equation(*parts: str) -> str:
    return '<math display="block">' + _mrow(*parts) + "</math>"


def _hidden(fed: str) -> str:
    return _equation(_sub("h", _T), "<mo>=</mo><mi>tanh</mi><mo>(</mo><mi>U</mi>", _sub("x", _T),
                     "<mo>+</mo><mi>W</mi>", fed, "<mo>+</mo><mi>b</mi><mo>)</mo>")


# The equations panel's block of each topology (page_view shows the run's; pages.cell_panels lists them).
TOPOLOGY_PANELS = [
    {"name": "topology-jordan", "panel": (
        _equation(_sub("m", _T), "<mo>=</mo><mi>α</mi>", _sub("m", _T1), "<mo>+</mo>", _YHAT) + _hidden(_sub("m", _T))
        + '<p class="eq-note">Jordan: the memory m has fixed weights (α, not learned) and is a constant for the '
          "gradient: ∂L/∂h_t = Vᵀ ∂L/∂o_t, no error reaches the past.</p>")},
    {"name": "topology-output_recurrence", "panel": (
        _hidden(_sub("y", _T1)) + _hidden(_YHAT)
        + '<p class="eq-note">Output → hidden recurrence: at train time h_t reads the true y_{t−1} (teacher forcing), '
          "at test time its own ŷ_{t−1}; the gradient stops at the fed value.</p>")},
    {"name": "topology-recursive", "panel": (
        _equation(_sub("h", "<mi>k</mi>"), "<mo>=</mo><mi>tanh</mi><mo>(</mo><mi>U</mi>", _sub("h", "<mi>left</mi>"),
                  "<mo>+</mo><mi>W</mi>", _sub("h", "<mi>right</mi>"), "<mo>+</mo><mi>b</mi><mo>)</mo>")
        + _equation(_sub("h", "<mi>leaf</mi>"), "<mo>=</mo><mi>tanh</mi><mo>(</mo><mi>V</mi>", _sub("x", "<mi>i</mi>"),
                    "<mo>+</mo>", _sub("b", "<mi>leaf</mi>"), "<mo>)</mo>")
        + '<p class="eq-note">A recursive network: the same U, W, V at every node; back-propagation through '
          "structure visits each parent before its children, so a leaf at depth d gets the root's gradient "
          "through d Jacobians diag(1 − h²)U or W.</p>")},
]
