"""From a validated config to a training run, its socket messages, samples and the trained network.

Nothing here computes: the engine trains (engine.train) and samples (engine.sample); this module
fills in the training defaults, builds the engine objects and turns records into JSON-safe dicts.

A trained network is a pure function of its *trained config* (the config with the resolved
training fields and ``epochs`` = the epochs actually run), because training is deterministic.
So any server process can rebuild it; a small cache per app (``app.state.trained``) only saves the
retraining.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from unrolled import engine
from unrolled.engine.sample import sample
from unrolled.engine.tasks import DEFAULT_TEXT, TaskData, text_vocabulary
from unrolled.engine.train import EpochRecord, TrainOptions
from unrolled.server.config import TraceConfig, first_error, resolve_config
from unrolled.server.config_table import fields_in_group
from unrolled.server.presets import PRESETS_BY_NAME
from unrolled.server.model_source import build_model
from unrolled.server.runs import StreamSource, build_task, config_source, engine_inputs, title_and_story
from unrolled.server.wire.serialize import to_jsonable

DEFAULT_EPOCHS = 100
DEFAULT_OPTIMIZER = "adam"
DEFAULT_LR = {"adam": 0.01, "sgd": 0.05}
SGD_MOMENTUM = 0.9
PROFILE_DIGITS = 4          # significant digits of an epoch's gradient-norm profiles (the loss keeps all)
CACHE_SIZE = 16             # trained networks kept per process
TRAINING_FIELDS = fields_in_group("training")


def resolve_training(config: TraceConfig) -> TraceConfig:
    """The config with every training field filled in (epochs, optimizer, lr); the config schema
    has already refused the combinations the engine cannot train."""
    optimizer = config.optimizer or DEFAULT_OPTIMIZER
    return config.model_copy(update={
        "epochs": config.epochs or DEFAULT_EPOCHS,
        "optimizer": optimizer,
        "lr": config.lr if config.lr is not None else DEFAULT_LR[optimizer],
    })


def network_title(config: TraceConfig) -> tuple[str, str | None]:
    """The preset's title and story, "(modified)" only when a field other than the training ones
    differs from the preset (training a preset does not modify the network it describes)."""
    preset = PRESETS_BY_NAME.get(config.preset or "")
    reset = {k: preset.config.get(k) if preset else None for k in TRAINING_FIELDS}
    return title_and_story(config.model_copy(update=reset))


def train_options(config: TraceConfig) -> TrainOptions:
    """The engine's options for a resolved config (tbptt = k means TBPTT(k, k): k-step chunks)."""
    return TrainOptions(
        epochs=config.epochs or DEFAULT_EPOCHS,
        optimizer=config.optimizer or DEFAULT_OPTIMIZER,
        lr=config.lr if config.lr is not None else DEFAULT_LR[config.optimizer or DEFAULT_OPTIMIZER],
        momentum=SGD_MOMENTUM if config.optimizer == "sgd" else 0.0,
        clip=config.clip,
        tbptt=(config.tbptt, config.tbptt) if config.tbptt is not None else None,
        recurrent_gradient=config.recurrent_gradient,
        loss_reduction=config.loss_reduction,
    )


class TrainingRun:
    """One training of a resolved config: the data, the trainer and the messages about it."""

    def __init__(self, config: TraceConfig) -> None:
        self.config = config
        self.task: TaskData = build_task(config)
        x, targets = engine_inputs(config, self.task)
        self.source = build_model(config, self.task)
        self.trainer = self.source.trainer(x, targets, self.task.loss, train_options(config))

    @property
    def net(self) -> engine.Network | engine.Seq2Seq:
        """The latest trained network (a Seq2Seq for an encoder–decoder task)."""
        return self.trainer.net

    def meta(self) -> dict:
        """The first message: what will be trained and how to draw it."""
        net, title = self.net, network_title(self.config)[0]
        segments = self.source.segments(int(self.task.x.shape[0]))   # a model of several parts: whose steps
        return {
            "type": "meta", "config": self.config.model_dump(), "title": title,
            "epochs": self.trainer.options.epochs, "T": int(self.task.x.shape[0]),
            "nodes": list(net.node_names), "params": list(net.state_dict()), "loss": self.task.loss,
            "task": self.config.task, "can_sample": can_sample(self.config),
            "updates_per_epoch": len(self.trainer.windows),
            **({"segments": segments} if segments else {}),
            **self.source.meta_extra(),      # issue 15's topologies: the fed value, the tree (its T = its nodes)
        }

    def epoch_message(self, record: EpochRecord, elapsed_s: float) -> dict:
        """One epoch's record, JSON-safe (non-finite numbers as strings)."""
        return {
            **to_jsonable({
                "type": "epoch", "epoch": record.epoch, "epochs": self.trainer.options.epochs,
                "loss": record.loss, "accuracy": record.accuracy, "grad_norm": record.grad_norm,
                "clipped": record.clipped, "updates": record.updates, "clipped_updates": record.clipped_updates,
                "diverged": record.diverged, "elapsed_s": round(elapsed_s, 3),
            }),
            **to_jsonable({"grad_norms": record.grad_norms, "param_grad_norms": record.param_grad_norms},
                          PROFILE_DIGITS),
        }

    def trained_config(self) -> TraceConfig:
        """The config that rebuilds the current network: epochs = the epochs run so far."""
        return self.config.model_copy(update={"epochs": max(self.trainer.epochs_done, 1)})

    def done_message(self, reason: str, last: EpochRecord | None) -> dict:
        """The last message: why training ended and the config that rebuilds the trained network."""
        trained = self.trained_config().model_dump() if self.trainer.epochs_done else None
        return to_jsonable({
            "type": "done", "reason": reason, "epochs_done": self.trainer.epochs_done,
            "final_loss": None if last is None else last.loss, "trained_config": trained,
        })


def can_sample(config: TraceConfig) -> bool:
    """Only a character model can feed its outputs back as inputs (and only one reading forward)."""
    return config.task == "char_lm" and not config.bidirectional


def sample_text(net: engine.Network, config: TraceConfig, length: int, prime: str | None, seed: int,
                temperature: float) -> dict:
    """Generate text from a trained char_lm network: the `sample` message (ValueError names a bad prime)."""
    vocab = text_vocabulary(config.text or DEFAULT_TEXT)
    prime = prime or (config.text or DEFAULT_TEXT)[0]
    unknown = sorted({ch for ch in prime if ch not in vocab})
    if unknown:
        raise ValueError(f"prime: characters not in the text's vocabulary: {''.join(unknown)!r}")
    index = {ch: i for i, ch in enumerate(vocab)}
    ids = sample(net, length, prime=[index[ch] for ch in prime], seed=seed, temperature=temperature)
    return {"type": "sample", "prime": prime, "text": "".join(vocab[i] for i in ids), "seed": seed,
            "temperature": temperature}


class TrainedCache:
    """A small thread-safe LRU of trained networks keyed by their trained config (one per app)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, engine.Network] = OrderedDict()

    def put(self, config: TraceConfig, net: engine.Network) -> None:
        """Remember a trained network."""
        with self._lock:
            self._items[config.model_dump_json()] = net
            self._items.move_to_end(config.model_dump_json())
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, config: TraceConfig) -> engine.Network | None:
        """The network trained with this config, if this process still has it."""
        with self._lock:
            key = config.model_dump_json()
            net = self._items.get(key)
            if net is not None:
                self._items.move_to_end(key)
            return net


def trained_network(cache: TrainedCache, config: TraceConfig) -> engine.Network:
    """The network a trained config describes: from ``cache``, or trained again (deterministically)."""
    config = resolve_training(config)
    net = cache.get(config)
    if net is None:
        run = TrainingRun(config)
        for _ in run.trainer.epochs():
            pass
        net = run.net
        cache.put(config, net)
    return net


def trained_source(cache: TrainedCache, config: TraceConfig) -> StreamSource:
    """A step-through stream (like runs.config_source) of the trained network on the config's data,
    for /ws/trace's start with "source": "trained"."""
    config = resolve_training(config)
    title, _ = network_title(config)
    epochs = f"{config.epochs} epoch{'' if config.epochs == 1 else 's'}"
    return config_source(config, trained_network(cache, config), title=f"Trained {epochs}: {title}")


def trained_source_factory(cache: TrainedCache, raw_config: Any, model: type[TraceConfig] = TraceConfig,
                           ) -> Callable[[], StreamSource] | tuple[str, str | None]:
    """For /ws/trace's start with "source": "trained": a callable building the stream source (run in
    the stream's worker thread: it may retrain), or (detail, field) when the config is invalid under
    ``model`` (the app's config model)."""
    try:
        config = resolve_training(resolve_config(raw_config, model))
    except ValidationError as exc:
        return first_error(exc)
    return lambda: trained_source(cache, config)
