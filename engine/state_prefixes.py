"""One rule from a whole model's state dict to the engine's names, shared by `Network.from_state_dict`
and the server's uploads (`unrolled view model.npz`, the upload form).

A torch model's `state_dict()` prefixes each submodule's names: `rnn.weight_ih_l0`, `fc.weight`,
`emb.weight`. The rule: every recurrent name (`weight_ih_l0`, `bias_hh_l1_reverse`, the lectures'
`weight_peephole_l0`) must share one prefix, which is dropped. Of the other arrays, `head.*` and
`embedding.weight` keep their names; any other 2-D `*weight` is the embedding table when its width is
the first layer's input size and the head when its width is the top layer's (D·H); when both widths
agree its name decides (a name with "emb" is the table). Its `*bias` goes with it. Anything the rule
cannot place, or places twice, is a ValueError that names the arrays.
"""
from __future__ import annotations

import re

import numpy as np

from .params import EMBEDDING

RECURRENT_NAME = re.compile(r"^(?P<prefix>.*?)(?P<name>((weight|bias)_(ih|hh)|weight_peephole)_l\d+(_reverse)?)$")
PROJECTION_NAME = re.compile(r"(^|\.)weight_hr_l\d+(_reverse)?$")
ENGINE_NAMES = ("head.weight", "head.bias", EMBEDDING)


def check_no_projection(state: dict) -> None:
    """ValueError naming proj_size when the dict is an LSTM with projections (weight_hr_l{k})."""
    found = sorted(k for k in state if PROJECTION_NAME.search(k))
    if found:
        shape = np.shape(state[found[0]])
        raise ValueError(f"{found[0]} of shape {shape} is an LSTM projection (proj_size = {shape[0]}): an "
                         "nn.LSTM with proj_size > 0 computes h_t = W_hr (o ⊙ tanh(c_t)), which the engine does not "
                         "support; use proj_size=0")


def needs_prefix_rule(state: dict) -> bool:
    """True when `state` is not already in the engine's names: a prefixed recurrent module, or an
    output layer or embedding under its own module's name."""
    prefixed = any(m["prefix"] for m in map(RECURRENT_NAME.match, state) if m)
    foreign = [k for k in state if not RECURRENT_NAME.match(k) and k not in ENGINE_NAMES]
    return prefixed or ("head.weight" not in state and any(k.endswith("weight") for k in foreign))


def strip_prefixes(state: dict, identity_head: bool = False) -> dict:
    """`state` in the engine's names by the module rule above (unchanged when it already is).
    `identity_head`: with no output layer at all, o_t = h_t (what the CLI does for a bare module)."""
    check_no_projection(state)
    if not needs_prefix_rule(state) and not (identity_head and "head.weight" not in state):
        return dict(state)
    recurrent, rest, prefixes = {}, {}, set()
    for key, value in state.items():
        match = RECURRENT_NAME.match(key)
        if match:
            prefixes.add(match["prefix"])
            recurrent[match["name"]] = value
        else:
            rest[key] = value
    if len(prefixes) > 1:
        shown = ", ".join(repr(p) for p in sorted(prefixes))
        raise ValueError(f"the state dict holds several recurrent modules (prefixes {shown}); pass the one "
                         "nn.RNN / LSTM / GRU (and its Linear head), or rename its keys")
    if "weight_ih_l0" not in recurrent or "weight_hh_l0" not in recurrent:
        raise ValueError("missing parameter 'weight_ih_l0' / 'weight_hh_l0' (with or without a module prefix): "
                         f"expected the state dict of a torch.nn.RNN, LSTM or GRU; got {', '.join(sorted(state)) or 'nothing'}")
    w_ih, w_hh = np.asarray(recurrent["weight_ih_l0"]), np.asarray(recurrent["weight_hh_l0"])
    input_size, width = w_ih.shape[-1], w_hh.shape[-1] * (2 if "weight_hh_l0_reverse" in recurrent else 1)
    out = {**recurrent, **{k: rest.pop(k) for k in ENGINE_NAMES if k in rest}}
    roles: dict[str, list[str]] = {"head": [], "embedding": []}
    for key in [k for k in rest if k.endswith("weight") and np.ndim(rest[k]) == 2]:
        cols = np.shape(rest[key])[1]
        if cols == input_size and (cols != width or "emb" in key.lower()):
            roles["embedding"].append(key)
        elif cols == width:
            roles["head"].append(key)
    for role, target in (("head", "head.weight"), ("embedding", EMBEDDING)):
        keys = roles[role] + ([target] if target in out else [])
        if len(keys) > 1:
            raise ValueError(f"ambiguous state dict: {', '.join(keys)} could each be the {role} "
                             f"({'output layer' if role == 'head' else 'token table'}); name it {target}")
        if roles[role]:
            key = roles[role][0]
            out[target] = rest.pop(key)
            bias = key[: -len("weight")] + "bias"
            if role == "head":
                out["head.bias"] = rest.pop(bias) if bias in rest else np.zeros(np.shape(out[target])[0])
    if rest:
        raise ValueError(f"unexpected arrays {', '.join(sorted(rest))} (expected one recurrent module's weights, "
                         f"an optional Linear head (O, {width}) and an optional Embedding (V, {input_size}))")
    if identity_head and "head.weight" not in out:
        out["head.weight"], out["head.bias"] = np.eye(width), np.zeros(width)
    return out
