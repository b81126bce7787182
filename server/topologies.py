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
from unrolled.engine.topologies import (SENTENCE_TREES, FeedbackNetwork, RecursiveNetwork, TreeTrainer,
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
    (topology "output_recurrence": teacher forced, or free running on its own outputs)."""

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
    """A recursive network over a balanced tree (copy: the sequence's symbols are the leaves) or a
    sentence's parse tree (tagging: sentence `seed` mod 18 of the corpus, its last word's tag at the root)."""

    def __init__(self, config: TraceConfig, model: RecursiveNetwork, tree: engine.topologies.Tree,
                 data: TaskData | None) -> None:
        super().__init__(config, model)
        self.tree, self._data = tree, data

    def unroll(self, task: TaskData) -> TaskData:
        """The data the tree reads: the task itself (copy) or the sentence (tagging)."""
        return self._data if self._data is not None else task

    def _inputs(self, x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The leaves' inputs and the root's targets (the last step's, as the chain's many-to-one)."""
        if self._data is not None and x.shape[0] != len(self.tree.leaves):       # a training run's raw batch
            x, targets = self._data.x.astype(x.dtype), self._data.targets
        return x, targets[-1]

    def steps(self, x: np.ndarray, targets: np.ndarray, loss: str) -> Any:
        """The step-wise run over the tree (post-order forward, the reverse backward)."""
        return self.model.steps(self.tree, *self._inputs(x, targets), loss=loss)

    def run(self, x: np.ndarray, targets: np.ndarray, loss: str) -> Any:
        """Forward and back-propagation through structure at once."""
        return self.model.run(self.tree, *self._inputs(x, targets), loss=loss)

    def trainer(self, x: np.ndarray, targets: np.ndarray, loss: str, options: engine.TrainOptions) -> TreeTrainer:
        """A TreeTrainer on the tree's batch."""
        return TreeTrainer(self.model, self.tree, *self._inputs(x, targets), loss, options)

    def meta_extra(self) -> dict:
        """The tree's shape for the page; the stream's axis is the nodes in post-order (T = N, the one
        loss at the root)."""
        N = self.tree.size
        return {"topology": {"name": "recursive"}, "tree": self.tree.as_dict(), "T": N,
                "has_target": [False] * (N - 1) + [True]}


def sentence_task(index: int, batch_size: int) -> TaskData:
    """One sentence of the tagging corpus (every batch entry the same), its last word's tag the
    target at the last step: the data a parse tree reads."""
    words, tags = tagging_vocabulary()
    sentence = TAGGED_CORPUS[index % len(TAGGED_CORPUS)]
    ids = np.array([words.index(w) for w, _ in sentence])
    T = len(ids)
    x = np.zeros((T, batch_size, len(words)))
    x[np.arange(T), :, ids] = 1.0
    targets = np.full((T, batch_size), NO_TARGET, dtype=np.int64)
    targets[-1] = tags.index(sentence[-1][1])
    labels = [[w for w, _ in sentence]] * batch_size
    return TaskData("tagging", x, targets, "cross_entropy", len(words), len(tags), labels,
                    [[None] * (T - 1) + [sentence[-1][1]]] * batch_size, list(tags))


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
    tree = (parse_tree(SENTENCE_TREES[config.seed % len(SENTENCE_TREES)]) if data is not None
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
