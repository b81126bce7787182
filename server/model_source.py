"""The one place that knows which engine model a config builds and how it runs on its task's axis.

Every route, socket and training run asks `build_model(config, task)` for a `ModelSource` and then
treats any model alike: it unrolls the task (free running feeds the model's own outputs back), runs
the model step by step or whole, trains it, and reads its segments. A plain task builds an
`engine.Network`; an encoder–decoder task (`reverse`) an `engine.Seq2Seq` on one joined time axis
(its chain is [encoder: silent] + [decoder: emits], docs/DESIGN.md section "Trace contract").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from unrolled import engine
from unrolled.engine.tasks import TaskData, with_fed_back_inputs
from unrolled.server.config import TraceConfig

DTYPES = {"float64": np.float64, "float32": np.float32}


def network_sizes(config: TraceConfig, task: TaskData) -> dict:
    """The keyword arguments of Network.random / Seq2Seq.random a config and its task set (with
    `embedding_size`, the first layer reads embeddings of that width and the table has a row per symbol)."""
    embedded = config.embedding_size is not None
    return {
        "cell": config.cell, "input_size": config.embedding_size if embedded else task.input_size,
        "vocab_size": task.input_size if embedded else None, "hidden_size": config.hidden_size,
        "output_size": task.output_size, "num_layers": config.num_layers, "seed": config.seed,
        "recurrent_scale": config.recurrent_scale,
        "forget_bias": config.forget_bias, "dtype": DTYPES[config.dtype],   # the engine applies it to cells with a forget gate
    }


class ModelSource:
    """A model (`self.model`) sized for a config's task, with the options that run and train it.

    `network` is the model when it is a single RNN (None for an encoder–decoder): what the features
    that read one network's weights (compare) need."""

    def __init__(self, config: TraceConfig, model: Any, lengths: np.ndarray | None = None) -> None:
        self.config, self.model = config, model
        self.lengths = lengths          # (B,) the task's real steps per element (a padded batch), or None

    @property
    def network(self) -> engine.Network | None:
        """The model as one network, or None when it is more than one."""
        return self.model

    def unroll(self, task: TaskData) -> TaskData:
        """The data the run reads: the task itself (teacher forcing), or — free running — the task's
        first input followed by the network's own argmax outputs fed back (engine.free_run)."""
        if self.config.unroll != "free_running":
            return task
        first = task.x[0].astype(DTYPES[self.config.dtype])
        x, tokens = engine.free_run(self.model, first, task.x.shape[0], mode="argmax")
        return with_fed_back_inputs(task, x, tokens)

    def options(self) -> dict:
        """The keyword options of Network.run / Network.steps the config sets."""
        return {"truncate": self.config.tbptt, "recurrent_gradient": self.config.recurrent_gradient,
                "lengths": self.lengths, "loss_reduction": self.config.loss_reduction}

    def steps(self, x: np.ndarray, targets: np.ndarray, loss: str) -> engine.StepRun:
        """A step-wise run on (x, targets): iterate it for Events; its `schedule` and `stages` are
        known at once, its `trace` once it is exhausted."""
        return self.model.steps(x, targets, loss=loss, **self.options())

    def run(self, x: np.ndarray, targets: np.ndarray, loss: str) -> engine.Trace:
        """The whole forward and backward pass on (x, targets)."""
        return self.model.run(x, targets, loss=loss, **self.options())

    def trainer(self, x: np.ndarray, targets: np.ndarray, loss: str, options: engine.TrainOptions) -> engine.Trainer:
        """The engine's Trainer of a copy of the model on (x, targets)."""
        return engine.Trainer(self.model, x, targets, loss, options, lengths=self.lengths)

    def segments(self, T: int) -> list[dict] | None:
        """[{name, start, stop}] of the model's parts on a time axis of T steps; None for one part."""
        return None

    def meta_extra(self) -> dict:
        """Fields the stream's meta adds for this model (none for a chain; server.topologies' sources add some)."""
        return {}


class EncoderDecoderSource(ModelSource):
    """An encoder–decoder on the task's joined axis: the first `encoder_steps` steps are the encoder's."""

    def __init__(self, config: TraceConfig, model: engine.Seq2Seq, encoder_steps: int) -> None:
        super().__init__(config, model)
        self.encoder_steps = encoder_steps

    @property
    def network(self) -> None:
        """None: an encoder–decoder is two networks."""
        return None

    def unroll(self, task: TaskData) -> TaskData:
        """Free running: encode, then decode from <go> feeding the decoder's own outputs back."""
        if self.config.unroll != "free_running":
            return task
        T_in, dtype = self.encoder_steps, DTYPES[self.config.dtype]
        x_dec, tokens = self.model.free_run(task.x[:T_in].astype(dtype), task.x[T_in].astype(dtype),
                                            task.x.shape[0] - T_in)
        return with_fed_back_inputs(task, np.concatenate([task.x[:T_in], x_dec]), tokens, start=T_in)

    def steps(self, x: np.ndarray, targets: np.ndarray, loss: str) -> engine.StepRun:
        """A step-wise run on the joined axis."""
        return self.model.steps_joined(x, targets, self.encoder_steps, loss)

    def run(self, x: np.ndarray, targets: np.ndarray, loss: str) -> engine.Trace:
        """The whole run on the joined axis (BPTT through the decoder, the context and the encoder)."""
        return self.model.run_joined(x, targets, self.encoder_steps, loss)

    def trainer(self, x: np.ndarray, targets: np.ndarray, loss: str, options: engine.TrainOptions) -> engine.Trainer:
        """Both halves trained together, teacher forced, with full BPTT."""
        return engine.Trainer(self.model, x, targets, loss, options, encoder_steps=self.encoder_steps)

    def segments(self, T: int) -> list[dict]:
        """The encoder's and the decoder's steps."""
        return [seg.as_dict() for seg in engine.seq2seq_chain(self.encoder_steps, T)]


def build_model(config: TraceConfig, task: TaskData, model: Any = None) -> ModelSource:
    """The config's model on its task: a new seeded one, or `model` (a trained one, say). An
    encoder–decoder task (one with `encoder_steps`) builds an engine.Seq2Seq whose halves both read
    its symbols + <go>; any other task an engine.Network."""
    if config.topology != "chain":          # Jordan, output recurrence, recursive (server.topologies)
        from unrolled.server.topologies import topology_source
        return topology_source(config, task, model)
    if config.seq2seq:
        model = model if model is not None else engine.Seq2Seq.random(**network_sizes(config, task))
        return EncoderDecoderSource(config, model, task.encoder_steps)
    if model is None:
        model = engine.Network.random(bidirectional=config.bidirectional, readout=config.readout,
                                      **network_sizes(config, task))
    return ModelSource(config, model, task.lengths)
