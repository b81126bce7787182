"""Side-by-side runs on the same data: each run's gradient-decay profile and diagnosis, and a
per-loss-term breakdown contrasting a loss at every step with a loss at the end only.

A run is a config (a built-in task, as everywhere else) or a reference to an uploaded model:
``{"model_id": id}`` runs the user's own weights; ``{"model_id": id, "cell": "gru", "seed": 0}`` runs a
fresh seeded network of that cell with the model's sizes on the model's input and targets.

The breakdown uses the first run's network and data with two target sets:
- "end": only the last step that carries a target (per batch element) keeps it;
- "every": each step without a target gets the next target the sequence asks for (so a task that
  asks once at the end, like copy or adding, asks for that same answer at every step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from unrolled import engine
from unrolled.engine.losses import IGNORE, target_mask
from unrolled.server.config import SCHEMA_SETTINGS, Cell, TraceConfig, config_model
from unrolled.server.settings import Settings
from unrolled.server.wire.messages import diagnosis_and_spectra
from unrolled.server.uploads.models import ModelStore, stored_model
from unrolled.server.model_source import build_model
from unrolled.server.runs import build_task, engine_inputs, title_and_story
from unrolled.server.wire.serialize import to_jsonable

COMPARED_NODE = "h_l0"        # the first layer's node; h_l0_reverse for a layer that runs only in reverse
RunSpec = dict[str, Any]
_CONFIGS_DOC = ('Run specs: configs (as for POST /api/trace) or {"model_id": id[, "cell", "seed", '
                '"recurrent_scale", "forget_bias", "data_from"]} for an uploaded model (with "cell": a fresh network '
                "of that cell on the model's data; with \"data_from\": on another uploaded model's data — two "
                "checkpoints on the same data).")


class CompareRequest(BaseModel):
    """Either 2–4 run specs, or a base spec and one field's 2–4 values."""

    model_config = ConfigDict(extra="forbid", strict=True)
    bounds: ClassVar[Settings] = SCHEMA_SETTINGS  # compare_request_model sets an app's
    config_model: ClassVar[type[TraceConfig]] = TraceConfig  # what validates each config run

    configs: list[RunSpec] | None = Field(
        None, min_length=2, max_length=SCHEMA_SETTINGS.max_compare_runs, description=_CONFIGS_DOC)
    base: RunSpec | None = Field(None, description="A run spec that every value of `vary` modifies.")
    vary: dict[str, list[Any]] | None = Field(
        None, description='Exactly one field and its 2–4 values, e.g. {"cell": ["rnn_tanh", "lstm", "gru"]}.')

    @model_validator(mode="after")
    def _one_form(self) -> "CompareRequest":
        """configs, or base + vary (one field, 2–4 values)."""
        if (self.configs is None) == (self.base is None):
            raise ValueError('give either "configs" or "base" with "vary"')
        if self.base is not None:
            if not self.vary or len(self.vary) != 1:
                raise ValueError('"vary" must name exactly one field')
            (values,) = self.vary.values()
            if not 2 <= len(values) <= self.bounds.max_compare_runs:
                raise ValueError(f'"vary" needs 2 to {self.bounds.max_compare_runs} values')
        elif self.vary is not None:
            raise ValueError('"vary" goes with "base", not with "configs"')
        return self

    def specs(self) -> list[tuple[RunSpec, tuple, str | None]]:
        """(spec, error location, label) for every run."""
        if self.configs is not None:
            return [(spec, ("body", "configs", i), None) for i, spec in enumerate(self.configs)]
        ((name, values),) = self.vary.items()
        return [({**self.base, name: v}, ("body", "vary", name, i), f"{name} = {v}") for i, v in enumerate(values)]


@lru_cache(maxsize=32)
def compare_request_model(settings: Settings) -> type[CompareRequest]:
    """The CompareRequest of an app: its run count bound and its config model are ``settings``'."""
    model = create_model("CompareRequest", __base__=CompareRequest, __module__=__name__,
                         __doc__=CompareRequest.__doc__,
                         configs=(list[RunSpec] | None, Field(None, min_length=2, max_length=settings.max_compare_runs,
                                                              description=_CONFIGS_DOC)))
    model.bounds, model.config_model = settings, config_model(settings)
    return model


class ModelRunSpec(BaseModel):
    """A run of an uploaded model, or of a fresh network sized like it on its data."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model_id: str = Field(min_length=1, max_length=64)
    cell: Cell | None = None
    seed: int = Field(0, ge=0, le=2**32 - 1)
    recurrent_scale: float | None = Field(None, ge=0.0, le=10.0, allow_inf_nan=False)
    forget_bias: float = Field(0.0, ge=-20.0, le=20.0, allow_inf_nan=False)
    data_from: str | None = Field(None, min_length=1, max_length=64, description=(
        "Another uploaded model whose input and targets this run reads: two checkpoints of one model "
        "(before and after a loss spike, say) compared on the same data."))


@dataclass
class PreparedRun:
    """A network, its data and how the response names it."""

    label: str
    spec: dict
    net: Any
    x: np.ndarray
    targets: np.ndarray
    loss: str
    options: dict = field(default_factory=dict)     # run options of an uploaded model (its lengths)


class CompareError(ValueError):
    """A run spec is invalid; ``errors`` are FastAPI-style {loc, msg, type} dicts."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors[0]["msg"])
        self.errors = errors


def _model_run(store: ModelStore, spec: RunSpec, where: tuple, label: str | None) -> PreparedRun:
    parsed = ModelRunSpec.model_validate(spec)
    model = stored_model(store, parsed.model_id)
    if isinstance(model, tuple):
        raise CompareError([{"loc": [*where, "model_id"], "msg": model[0], "type": "unknown_model"}])
    net = model.net
    if parsed.cell is not None:
        net = engine.Network.random(cell=parsed.cell, input_size=net.input_size, hidden_size=net.hidden_size,
                                    output_size=net.output_size, num_layers=net.num_layers,
                                    bidirectional=net.bidirectional, seed=parsed.seed,
                                    recurrent_scale=parsed.recurrent_scale,
                                    forget_bias=parsed.forget_bias,   # used by cells with a forget gate
                                    vocab_size=net.arch.vocab_size,   # the same embedding size for token inputs
                                    reverse_layers=net.arch.reverse_layers)   # and the same reverse-only layers
    default = f"your model {model.name} ({net.cell})" if parsed.cell is None else f"random {net.cell} (seed {parsed.seed})"
    data = model if parsed.data_from is None else _data_model(store, parsed.data_from, net, where)
    return PreparedRun(label or default, parsed.model_dump(), net, data.x, data.targets, data.loss,
                       data.run_options())


def _data_model(store: ModelStore, model_id: str, net: Any, where: tuple) -> Any:
    """The uploaded model whose data a run reads (`data_from`), checked to fit `net`'s input and output."""
    data = stored_model(store, model_id)
    if isinstance(data, tuple):
        raise CompareError([{"loc": [*where, "data_from"], "msg": data[0], "type": "unknown_model"}])
    fits = (data.net.input_size, data.net.output_size, data.net.arch.vocab_size) == \
        (net.input_size, net.output_size, net.arch.vocab_size)
    if not fits:
        raise CompareError([{"loc": [*where, "data_from"], "type": "value_error",
                             "msg": f"{data.name} reads inputs of size {data.net.input_size} with {data.net.output_size} "
                                    f"outputs; this model has {net.input_size} and {net.output_size}: not the same data"}])
    return data


def _config_run(model: type[TraceConfig], spec: RunSpec, where: list, label: str | None) -> PreparedRun:
    config = model.model_validate(spec)
    task = build_task(config)
    source = build_model(config, task)
    net = source.network
    if config.topology != "chain":   # issue 15: Jordan / output recurrence compare as chains of their fed steps
        task = source.unroll(task)
    if net is None and config.topology != "chain":   # a recursive network: no time axis to compare along
        raise CompareError([{"loc": [*where, "topology"], "type": "value_error",
                             "msg": f"topology {config.topology!r} has a tree, not time steps: compare plots ‖∂L_k/∂h_t‖ "
                                    "over the steps of chains; the tree's own depth plot shows it beside the same "
                                    "data as a chain"}])
    if net is None:
        raise CompareError([{"loc": [*where, "task"], "type": "value_error",
                             "msg": f"task {config.task!r} runs an encoder–decoder; compare takes single RNNs"}])
    x, targets = engine_inputs(config, task)
    return PreparedRun(label or title_and_story(config)[0], config.model_dump(), net, x, targets, task.loss)


def prepare_runs(request: CompareRequest, store: ModelStore) -> list[PreparedRun]:
    """Validate every run spec (a model_id one against the app's ``store``) and build its network and
    data; CompareError naming each bad field."""
    runs, errors = [], []
    for spec, where, label in request.specs():
        try:
            runs.append(_model_run(store, spec, where, label) if "model_id" in spec else _config_run(request.config_model, spec, where, label))
        except ValidationError as exc:
            errors += [{"loc": [*where, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        except CompareError as exc:
            errors += exc.errors
        except ValueError as exc:  # the engine refused (e.g. a seed it cannot use)
            errors.append({"loc": list(where), "msg": str(exc), "type": "value_error"})
    if errors:
        raise CompareError(errors)
    return runs


def breakdown_targets(targets: np.ndarray, loss: str) -> dict[str, np.ndarray]:
    """{"every": each untargeted step given the next target, "end": only the last target kept}."""
    mask = target_mask(targets, loss)                       # (T, B)
    every, end = targets.copy(), np.full_like(targets, IGNORE)
    T, B = mask.shape
    for b in range(B):
        steps = np.flatnonzero(mask[:, b])
        if len(steps) == 0:
            continue
        end[steps[-1], b] = targets[steps[-1], b]
        upcoming = None
        for t in range(T - 1, -1, -1):
            if mask[t, b]:
                upcoming = targets[t, b]
            elif upcoming is not None:
                every[t, b] = upcoming
    return {"every": every, "end": end}


def compared_node(net: Any) -> str:
    """The node a comparison looks at: the first layer's (its reverse one when it runs only in reverse)."""
    return COMPARED_NODE if COMPARED_NODE in net.node_names else net.node_names[0]


def _run_summary(run: PreparedRun) -> dict:
    trace = run.net.run(run.x, run.targets, loss=run.loss, **run.options)
    node = compared_node(run.net)
    profile = trace.vanishing(node)
    return {
        "label": run.label,
        "spec": run.spec,
        "cell": run.net.cell,
        "T": int(trace.T),
        "loss_type": run.loss,
        "loss": float(trace.loss),
        "node": node,
        "vanishing": {key: profile[key] for key in ("k", "distance", "norms", "factor", "bound", "sigma_max")},
        "gradient_norms": trace.gradient_norms,
        **diagnosis_and_spectra(trace),
    }


def _breakdown(run: PreparedRun) -> dict:
    node = compared_node(run.net)
    out = {"label": run.label, "node": node}
    for name, targets in breakdown_targets(run.targets, run.loss).items():
        trace = run.net.run(run.x, targets, loss=run.loss, contributions=False, **run.options)
        ks, matrix = trace.flow_matrix(node)
        out[name] = {"ks": ks, "matrix": matrix, "loss": float(trace.loss),
                     "has_target": target_mask(targets, run.loss)[:, 0],
                     "gradient_norms": trace.gradient_norms[node]}
    return out


def compare_document(runs: list[PreparedRun]) -> dict:
    """{"runs": [...], "breakdown": {...}} JSON-safe (non-finite floats as strings)."""
    return to_jsonable({"runs": [_run_summary(run) for run in runs], "breakdown": _breakdown(runs[0])})
