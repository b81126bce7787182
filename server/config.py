"""The one config model used by REST, sockets, presets and permalinks.

A config may name a ``preset``; every field given beside it overrides the
preset's value, and every field given by neither takes the default below.
``loss`` follows from the task (cross-entropy for copy, char_lm and tagging;
mse for adding and sine): it may be given, but only with the task's own loss.
The resolved config (``model_dump()``) holds every field, so it round-trips
through a permalink unchanged.

The bounds are part of the schema: ``config_model(settings)`` is the model whose field bounds and
validators read that settings object (each app validates with its own, on ``app.state.config_model``).
``TraceConfig`` itself is the model of ``SCHEMA_SETTINGS`` (the defaults overridden by the process's
``UNROLLED_*`` variables), for code with no app: presets, the CLI, tests (docs/DESIGN.md, "Config and
page data").
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, create_model
from pydantic.fields import FieldInfo
from pydantic import field_validator, model_validator

from unrolled.engine import CELL_TYPES
from unrolled.engine.tasks import SEQ2SEQ_TASKS, TASK_LOSS, TASK_NAMES, text_vocabulary
from unrolled.server.presets import PRESET_NAMES, PRESETS_BY_NAME
from unrolled.server.settings import SCHEMA_FIELDS, Settings

FINAL_STATE_TASKS = ("copy", "adding")       # the many-to-one tasks: one target per sequence, at its end

Cell = Literal[CELL_TYPES]  # type: ignore[valid-type]   # the engine's cell registry
Task = Literal[TASK_NAMES]  # type: ignore[valid-type]
PresetName = Literal[PRESET_NAMES]  # type: ignore[valid-type]

CELLS: tuple[str, ...] = Cell.__args__
TRAINING = {"group": "training"}   # the training panel's fields (config_table.fields_in_group); tbptt also truncates traces
TASKS: tuple[str, ...] = Task.__args__
SCHEMA_SETTINGS = Settings.from_env()  # the bounds of TraceConfig, the model of code with no app
EMBEDDING_TASKS = ("char_lm", "tagging", "copy", "reverse")   # tasks of symbols: an embedding can read them


def _given(info: ValidationInfo, *names: str) -> bool:
    """True when every named field has already validated (earlier errors leave gaps)."""
    return all(n in info.data for n in names)


def _bounded_fields(s: Settings) -> dict[str, tuple[Any, FieldInfo]]:
    """The config fields whose bounds come from settings ``s``: (annotation, field) for create_model."""
    return {
        "hidden_size": (int, Field(16, ge=1, le=s.max_hidden_size)),
        "num_layers": (int, Field(1, ge=1, le=s.max_num_layers)),
        "batch_size": (int, Field(1, ge=1, le=s.max_batch_size)),
        "seq_len": (int, Field(
            20, ge=2, le=s.max_seq_len,
            description=f"Also bounds steps·batch_size·hidden_size·num_layers·directions ≤ {s.max_units} "
                        f"(steps = seq_len, or 2·seq_len for an encoder–decoder task, whose seq_len is at most "
                        f"{s.max_seq2seq_len}).",
        )),
        "text": (str | None, Field(None, min_length=1, max_length=s.max_text_len,
                                   description="char_lm only: the text to model.")),
        "recurrent_scale": (float | None, Field(
            None, ge=0.0, le=s.max_recurrent_scale, allow_inf_nan=False,
            description="Spectral radius of every recurrent weight block at initialisation (None: default init).",
        )),
        "epochs": (int | None, Field(None, ge=1, le=s.max_epochs, json_schema_extra=TRAINING)),
        "tbptt": (int | None, Field(None, ge=1, le=s.max_seq_len, json_schema_extra=TRAINING)),
        # issue 21: the diagnosis warns of vanishing only against a lag that matters (engine.diagnose)
        "required_lag": (int | None, Field(
            None, ge=1, le=2 * s.max_seq_len,
            description="Diagnosis: how many steps back the loss must reach (vanishing is judged against it). "
                        "None: the task's own (copy, adding, reverse need the whole sequence; others report "
                        "their memory horizon).")),
    }


_DEFAULT_BOUNDS = _bounded_fields(SCHEMA_SETTINGS)


class TraceConfig(BaseModel):
    """A network, a task and the run options: everything a trace is a pure function of."""

    model_config = ConfigDict(extra="forbid", strict=True)
    bounds: ClassVar[Settings] = SCHEMA_SETTINGS  # what the validators bound (config_model sets an app's)

    preset: PresetName | None = Field(None, description="A preset's name; other fields override it.")
    cell: Cell = "rnn_tanh"
    task: Task = Field("copy", description="reverse: an encoder–decoder (seq_len symbols in, reversed out).")
    hidden_size: int = _DEFAULT_BOUNDS["hidden_size"][1]
    num_layers: int = _DEFAULT_BOUNDS["num_layers"][1]
    bidirectional: bool = False
    batch_size: int = _DEFAULT_BOUNDS["batch_size"][1]
    seq_len: int = _DEFAULT_BOUNDS["seq_len"][1]
    batch_index: int = Field(0, ge=0, description="Which batch element the stream carries (< batch_size).")
    text: str | None = _DEFAULT_BOUNDS["text"][1]
    loss: Literal["cross_entropy", "mse"] | None = Field(
        None, validate_default=True, description="Follows from the task; if given it must match it.",
        json_schema_extra={"derived": True},
    )
    recurrent_scale: float | None = _DEFAULT_BOUNDS["recurrent_scale"][1]
    forget_bias: float = Field(0.0, ge=-20.0, le=20.0, allow_inf_nan=False,
                               description="Cells with a forget gate (the LSTMs): added to the forget gate's bias.")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    dtype: Literal["float64", "float32"] = "float64"
    # Training options (used by /ws/train); validated here so one schema serves all.
    epochs: int | None = _DEFAULT_BOUNDS["epochs"][1]
    optimizer: Literal["sgd", "adam"] | None = Field(None, json_schema_extra=TRAINING)
    lr: float | None = Field(None, gt=0.0, le=10.0, allow_inf_nan=False, json_schema_extra=TRAINING)
    clip: float | None = Field(None, gt=0.0, le=1e6, allow_inf_nan=False, json_schema_extra=TRAINING)
    tbptt: int | None = _DEFAULT_BOUNDS["tbptt"][1]
    required_lag: int | None = _DEFAULT_BOUNDS["required_lag"][1]   # issue 21 (diagnosis)
    # Usage patterns (issue 6): how the trace is unrolled and back-propagated.
    recurrent_gradient: bool = Field(
        True, description="False: Elman context units — the state is treated as an input, no gradient through W."
    )
    # The lectures' other topologies (issue 15, server/topologies.py): added fields, validated below.
    topology: Literal["chain", "jordan", "output_recurrence", "recursive"] = Field(
        "chain",
        description="chain: the RNN unrolled in time. jordan: a memory m_t = α m_{t−1} + ŷ_{t−1} feeds the hidden "
                    "layer (α fixed; no gradient through it). output_recurrence: h_t reads the previous output "
                    "(unroll teacher_forced: the true y_{t−1}; free_running: its own ŷ_{t−1}). recursive: one set of "
                    "weights at every node of a tree (copy: a balanced tree over the sequence; tagging: a "
                    "sentence's parse tree). All but chain are one layer of tanh units.",
    )
    alpha: float = Field(0.5, ge=0.0, lt=1.0, allow_inf_nan=False,
                         description="jordan only: the memory unit's fixed self-loop weight α.")
    unroll: Literal["teacher_forced", "free_running"] = Field(
        "teacher_forced",
        description="free_running (char_lm, unidirectional; or reverse): the inputs after the first (the "
                    "decoder's after <go>) are the network's own argmax outputs fed back; the targets stay.",
    )
    # Word embeddings (issue 13): a learned table in front of the first layer for the token tasks.
    # The readout and the loss reduction (issue 19, engine.readout / engine.losses).
    readout: Literal["per_step", "final_state"] = Field(
        "per_step", description="final_state: one output per sequence from cat(h_n[-2], h_n[-1]) — the forward "
                                "direction's last state and the reverse direction's state at t = 0 (tasks with one "
                                "target per sequence: copy, adding).")
    loss_reduction: Literal["step_mean", "token_mean", "sum"] = Field(
        "step_mean", description="step_mean: Σ_t of each step's mean over its targets. token_mean: the mean over all "
                                 "targets (torch's reduction='mean' on the flattened batch). sum: their sum.")
    embedding_size: int | None = Field(
        None, ge=1, le=256,
        description="Token tasks (char_lm, tagging, copy, reverse): the first layer reads e_t = E[x_t], a learned "
                    "embedding of this width, instead of one-hot symbols (teacher forced only).",
    )

    @model_validator(mode="before")
    @classmethod
    def _merge_preset(cls, data: Any) -> Any:
        """Fill the fields not given from the named preset (an unknown name fails on `preset`)."""
        if isinstance(data, dict) and isinstance(data.get("preset"), str):
            preset = PRESETS_BY_NAME.get(data["preset"])
            if preset is not None:
                return {**preset.config, **data}
        return data

    @field_validator("seq_len")
    @classmethod
    def _check_units(cls, seq_len: int, info: ValidationInfo) -> int:
        """Bound the product that sets memory, compute and payload size (an encoder–decoder runs
        2·seq_len steps, and back-propagates each decoder loss alone for the flow matrix)."""
        seq2seq = info.data.get("task") in SEQ2SEQ_TASKS
        if seq2seq and seq_len > cls.bounds.max_seq2seq_len:
            raise ValueError(f"an encoder–decoder task reads a short sequence: seq_len must be at most "
                             f"{cls.bounds.max_seq2seq_len}")
        if _given(info, "batch_size", "hidden_size", "num_layers", "bidirectional"):
            d = info.data
            directions = 2 if d["bidirectional"] else 1
            steps = 2 * seq_len if seq2seq else seq_len
            units = steps * d["batch_size"] * d["hidden_size"] * d["num_layers"] * directions
            if units > cls.bounds.max_units:
                name = "2·seq_len" if seq2seq else "seq_len"
                raise ValueError(
                    f"{name}·batch_size·hidden_size·num_layers·directions = {steps}·{d['batch_size']}·"
                    f"{d['hidden_size']}·{d['num_layers']}·{directions} = {units} exceeds the limit "
                    f"{cls.bounds.max_units}"
                )
        return seq_len

    @field_validator("batch_index")
    @classmethod
    def _check_batch_index(cls, batch_index: int, info: ValidationInfo) -> int:
        """The streamed element must exist."""
        if _given(info, "batch_size") and batch_index >= info.data["batch_size"]:
            raise ValueError(f"batch_index must be below batch_size ({info.data['batch_size']})")
        return batch_index

    @field_validator("text")
    @classmethod
    def _check_vocabulary(cls, text: str | None) -> str | None:
        """A text's distinct characters become output units: bound them."""
        if text is not None and len(text_vocabulary(text)) > cls.bounds.max_vocab:
            raise ValueError(
                f"the text has {len(text_vocabulary(text))} distinct characters; at most "
                f"{cls.bounds.max_vocab} are allowed"
            )
        return text

    @field_validator("loss")
    @classmethod
    def _loss_from_task(cls, loss: str | None, info: ValidationInfo) -> str | None:
        """Derive the loss from the task, or check that the given one is the task's."""
        if not _given(info, "task"):
            return loss
        expected = TASK_LOSS[info.data["task"]]
        if loss is not None and loss != expected:
            raise ValueError(f"task {info.data['task']!r} is trained with {expected!r}, not {loss!r}")
        return expected

    @field_validator("tbptt")
    @classmethod
    def _check_tbptt(cls, tbptt: int | None, info: ValidationInfo) -> int | None:
        """A truncation window longer than the sequence means nothing."""
        if tbptt is not None and _given(info, "seq_len") and tbptt > info.data["seq_len"]:
            raise ValueError(f"tbptt must not exceed seq_len ({info.data['seq_len']})")
        if tbptt is not None and info.data.get("task") in SEQ2SEQ_TASKS:
            raise ValueError(f"truncated BPTT is not available for task {info.data['task']!r} (encoder–decoder)")
        if tbptt is not None and info.data.get("bidirectional"):
            raise ValueError("truncated BPTT needs a unidirectional network (the reverse direction reads the future)")
        return tbptt

    @field_validator("bidirectional")
    @classmethod
    def _check_seq2seq_direction(cls, bidirectional: bool, info: ValidationInfo) -> bool:
        """The encoder–decoder here is two unidirectional RNNs joined by the context."""
        if bidirectional and info.data.get("task") in SEQ2SEQ_TASKS:
            raise ValueError(f"task {info.data['task']!r} runs an encoder–decoder of unidirectional RNNs")
        return bidirectional

    @field_validator("recurrent_gradient")
    @classmethod
    def _check_seq2seq_gradient(cls, recurrent_gradient: bool, info: ValidationInfo) -> bool:
        """The encoder–decoder lesson is the gradient crossing the context: it needs full BPTT."""
        if not recurrent_gradient and info.data.get("task") in SEQ2SEQ_TASKS:
            raise ValueError(f"task {info.data['task']!r} (encoder–decoder) needs full BPTT")
        return recurrent_gradient

    @field_validator("topology")
    @classmethod
    def _check_topology(cls, topology: str, info: ValidationInfo) -> str:
        """The other topologies are one unidirectional layer of tanh units, without chain options."""
        if topology == "chain":
            return topology
        d = info.data
        if d.get("cell", "rnn_tanh") != "rnn_tanh":
            raise ValueError(f"topology {topology!r} runs tanh units: cell must be 'rnn_tanh'")
        if d.get("num_layers", 1) != 1 or d.get("bidirectional") or d.get("tbptt") is not None:
            raise ValueError(f"topology {topology!r} is one unidirectional layer without tbptt")
        if d.get("recurrent_gradient") is False:
            raise ValueError(f"topology {topology!r} sets its own gradient paths: recurrent_gradient must stay true")
        if d.get("task") in SEQ2SEQ_TASKS:
            raise ValueError(f"topology {topology!r} does not run the encoder–decoder task {d['task']!r}")
        if topology == "recursive" and "task" in d and d["task"] not in ("copy", "tagging"):
            raise ValueError("topology 'recursive' builds its trees over task 'copy' (balanced) or 'tagging' (parse trees)")
        return topology

    @field_validator("unroll")
    @classmethod
    def _check_unroll(cls, unroll: str, info: ValidationInfo) -> str:
        """Feeding outputs back needs outputs that are inputs (char_lm) and no reverse direction."""
        if unroll == "free_running" and info.data.get("topology") != "output_recurrence":   # it feeds ŷ on any task
            if _given(info, "task") and info.data["task"] != "char_lm" and info.data["task"] not in SEQ2SEQ_TASKS:
                raise ValueError(f"free_running needs task 'char_lm' or an encoder–decoder task (their outputs "
                                 f"are their inputs); got {info.data['task']!r}")
            if info.data.get("bidirectional"):
                raise ValueError("free_running needs a unidirectional network (the reverse direction reads the future)")
        return unroll

    @field_validator("readout")
    @classmethod
    def _check_readout(cls, readout: str, info: ValidationInfo) -> str:
        """The final-state head reads whole sequences of a plain chain that has one target each."""
        if readout == "per_step":
            return readout
        d = info.data
        if d.get("task", "copy") not in FINAL_STATE_TASKS:
            raise ValueError(f"readout 'final_state' gives one output per sequence: task must be one of "
                             f"{', '.join(FINAL_STATE_TASKS)} (one target per sequence); got {d.get('task')!r}")
        if d.get("tbptt") is not None or d.get("recurrent_gradient") is False or d.get("topology", "chain") != "chain":
            raise ValueError("readout 'final_state' needs the whole sequence: no tbptt, recurrent_gradient true, "
                             "topology 'chain'")
        return readout

    @field_validator("loss_reduction")
    @classmethod
    def _check_reduction(cls, reduction: str, info: ValidationInfo) -> str:
        """Only a plain network's run weighs its loss terms otherwise; token_mean spans the whole sequence."""
        d = info.data
        if reduction != "step_mean" and (d.get("task") in SEQ2SEQ_TASKS or d.get("topology", "chain") != "chain"):
            raise ValueError("loss_reduction other than 'step_mean' needs topology 'chain' and a task that is no "
                             "encoder–decoder")
        if reduction == "token_mean" and d.get("tbptt") is not None:
            raise ValueError("loss_reduction 'token_mean' divides by the whole sequence's targets: not with tbptt")
        return reduction

    @field_validator("embedding_size")
    @classmethod
    def _check_embedding(cls, embedding_size: int | None, info: ValidationInfo) -> int | None:
        """Only symbols can be looked up in a table; free running feeds one-hot outputs back."""
        if embedding_size is None:
            return None
        if _given(info, "task") and info.data["task"] not in EMBEDDING_TASKS:
            raise ValueError(f"an embedding reads symbols: task must be one of {', '.join(EMBEDDING_TASKS)}; "
                             f"got {info.data['task']!r}")
        if info.data.get("unroll") == "free_running":
            raise ValueError("an embedding runs teacher forced (free_running feeds one-hot outputs back)")
        return embedding_size

    @property
    def seq2seq(self) -> bool:
        """True when the task is read by an encoder–decoder."""
        return self.task in SEQ2SEQ_TASKS

    @property
    def directions(self) -> int:
        """1, or 2 when bidirectional."""
        return 2 if self.bidirectional else 1


DEFAULT_CONFIG = TraceConfig()


def _schema_bounds(settings: Settings) -> tuple:
    return tuple(getattr(settings, name) for name in SCHEMA_FIELDS)


@lru_cache(maxsize=32)
def _model_of(bounds: tuple) -> type[TraceConfig]:
    settings = Settings(**dict(zip(SCHEMA_FIELDS, bounds)))
    model = create_model("TraceConfig", __base__=TraceConfig, __module__=__name__, __doc__=TraceConfig.__doc__,
                         **_bounded_fields(settings))
    model.bounds = settings
    return model


def config_model(settings: Settings) -> type[TraceConfig]:
    """The config model whose bounds and validators are ``settings``' (one class per distinct set of
    schema bounds, cached; TraceConfig itself for the process's default bounds)."""
    bounds = _schema_bounds(settings)
    return TraceConfig if bounds == _schema_bounds(SCHEMA_SETTINGS) else _model_of(bounds)


def first_error(exc: ValidationError) -> tuple[str, str | None]:
    """(detail, field) of a validation error's first problem, for socket `error` messages."""
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
    field = loc[0] if loc else None
    detail = err.get("msg", "invalid value")
    if field:
        detail = f"{'.'.join(loc)}: {detail}"
    return detail, field


def resolve_config(data: Any, model: type[TraceConfig] = TraceConfig) -> TraceConfig:
    """Validate a raw config (a dict, possibly naming a preset) with ``model`` (an app's
    ``config_model``; default: the process's TraceConfig); raises ValidationError."""
    return model.model_validate(data)
