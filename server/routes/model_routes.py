"""HTTP routes of bring-your-own-model: upload a state dict and an input, fetch its info or trace.

Uploads are one JSON body with the files base64-encoded (no multipart parser needed); the body's
size is capped by the app's SecurityMiddleware (413 beyond ``Settings.max_upload_mb``, checked from
Content-Length and while it is read). Every other problem is a 422 whose ``loc`` names the field (``model``, ``input``, ``targets``, ``lengths``, ``cell``, ``loss``, ``batch_first``, ``readout``, ``model_id``) and whose
message names the file.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from unrolled.server.config import Cell
from unrolled.server.routes.engine_slot import in_engine_slot
from unrolled.server.settings import Settings
from unrolled.server.uploads.model_files import ModelFileError, ModelFiles
from unrolled.server.uploads.models import ModelStore, UserModel, build_user_model, stored_model
from unrolled.server.wire.document import trace_document
from unrolled.server.wire.serialize import dumps, to_jsonable

router = APIRouter()

class ModelUpload(BaseModel):
    """A state dict (.npz), an input (.npy) and optional targets (.npy), each base64-encoded."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(description="base64 of an .npz written by np.savez(path, **state_dict): torch names "
                                   "(weight_ih_l0 …, optionally under one prefix such as lstm.) and an optional "
                                   "Linear head (head.weight/head.bias, or the one other *weight / *bias pair); "
                                   "or of an .onnx model (model_name ending in .onnx: [Gather →] RNN/GRU/LSTM nodes "
                                   "[→ MatMul+Add or Gemm], parsed, never run).")
    input: str = Field(description="base64 of an .npy of shape (T, input_size) or (T, B, input_size), time first "
                                   "(a batch-first ONNX model: (B, T, input_size); token ids (T, B) for a model "
                                   "with an embedding).")
    targets: str | None = Field(None, description="base64 of an .npy: (T[, B]) integer class ids (-100: no loss "
                                                   "there) for cross_entropy, or (T[, B], output_size) floats for mse. "
                                                   "Without it: cross_entropy against the model's own argmax at every "
                                                   "step (mse: a zero target).")
    lengths: str | None = Field(None, description="base64 of an .npy of B ints in [1, T]: a padded batch's "
                                                  "lengths (torch's pack_padded_sequence; ONNX's sequence_lens).")
    model_name: str = Field("model.npz", max_length=200, description="Shown in titles and errors; a name "
                                                                     "ending in .onnx reads the model as ONNX.")
    input_name: str = Field("input.npy", max_length=200)
    targets_name: str = Field("targets.npy", max_length=200)
    lengths_name: str = Field("lengths.npy", max_length=200)
    batch_first: bool = Field(False, description="The input (and targets) are (B, T, …), as a batch_first=True "
                                                 "module reads them (an ONNX model's graph says so itself).")
    cell: Cell | None = Field(None, description="Read off weight_hh_l0's shape when omitted (rnn means rnn_tanh).")
    loss: Literal["cross_entropy", "mse"] | None = Field(
        None, description="Default: from the targets' dtype (integers: cross_entropy, floats: mse), else cross_entropy.")
    readout: Literal["per_step", "final_state"] | None = Field(
        None, description="What the head reads: every step's state (per_step, a state dict's default) or "
                          "head(cat(h_n[-2], h_n[-1])), one prediction per sequence (final_state: targets are (B,) "
                          "ids). An ONNX graph says which itself; naming the other one is a 422.")


class ModelInfo(BaseModel):
    """An uploaded model as this process holds it."""

    model_id: str = Field(description="Content hash of the files and options: the same upload gets the same id on "
                                      "every worker. Start the socket with {type: start, source: model, model_id}.")
    name: str
    input_name: str
    cell: str
    num_layers: int
    bidirectional: bool
    input_size: int
    hidden_size: int
    output_size: int
    T: int
    batch_size: int
    loss: str
    targets: Literal["file", "own_argmax", "zeros"]
    nodes: list[str]
    bytes: int
    layout: Literal["time_first", "batch_first"] = Field(
        "time_first", description="The layout the files were read in (batch_first: a batch-first ONNX model).")
    padded: bool = Field(False, description="True when lengths were given (a padded batch).")
    readout: Literal["per_step", "final_state"] = Field(
        "per_step", description="What the head reads: every step, or the final states (one prediction per sequence).")


class ErrorOut(BaseModel):
    """FastAPI's validation error shape: each problem's loc names the field."""

    detail: list[dict]


ERRORS = {422: {"model": ErrorOut, "description": "A bad file, option or model_id; loc names the field"},
          503: {"model": dict, "description": "Every engine slot is busy; retry shortly"}}
UNKNOWN = {404: {"model": ErrorOut, "description": "This process does not hold the model_id: upload the files again"}}


def _error(loc: list, msg: str, kind: str = "value_error", status: int = 422) -> Response:
    return Response(dumps({"detail": [{"loc": loc, "msg": msg, "type": kind}]}), status_code=status,
                    media_type="application/json")


def _decode(text: str | None, field: str) -> bytes | None:
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ModelFileError(f"{field} is not valid base64", field) from None


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ModelUpload.model_json_schema()}}}}


@router.post("/models", summary="Upload your own model and its input", response_model=ModelInfo,
             responses={**ERRORS, 413: {"description": "The body exceeds UNROLLED_MAX_UPLOAD_MB"}},
             openapi_extra=UPLOAD_BODY)
async def upload_model(request: Request) -> Response:
    """Validate a torch-named state dict (.npz), an input (.npy) and optional targets (.npy), sent as
    one JSON body with each file base64-encoded (no multipart; a 413 beyond UNROLLED_MAX_UPLOAD_MB), and keep
    the model: in this process's memory (the UNROLLED_MAX_MODELS most recently used) and, as files, in a
    private folder shared by the machine's worker processes. Files are read with allow_pickle=False and
    each array's size is checked from its header first; every problem is a 422 whose loc names the field
    and whose message names the file and the expected shape. The answer's model_id (a content hash: the
    same files give the same id on every worker) streams it on /ws/trace
    {"type":"start","source":"model","model_id":…}; its whole trace is POST /api/models/{model_id}/trace.
    A server that holds the id neither in memory nor in that folder (another machine, or trimmed)
    answers 404 there and a socket error on model_id: POST the same files again."""
    try:
        upload = ModelUpload.model_validate_json(await request.body())
    except ValidationError as exc:
        return Response(dumps({"detail": [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                                          for e in exc.errors()]}), status_code=422, media_type="application/json")
    try:
        files = ModelFiles(_decode(upload.model, "model"), _decode(upload.input, "input"),
                           _decode(upload.targets, "targets"), upload.model_name, upload.input_name,
                           upload.targets_name, upload.cell, upload.loss, _decode(upload.lengths, "lengths"),
                           upload.lengths_name, upload.batch_first, upload.readout)
    except ModelFileError as exc:
        return _error(["body", exc.field], exc.detail)
    state = request.app.state
    return await in_engine_slot(request, lambda: _store(files, state.settings, state.model_store))


def _store(files: ModelFiles, limits: Settings, store: ModelStore) -> Response:
    try:
        model = build_user_model(files, limits)
    except ModelFileError as exc:
        return _error(["body", exc.field], exc.detail)
    store.put(model, files)
    return Response(dumps(model.info()), media_type="application/json")


def _held(store: ModelStore, model_id: str) -> UserModel | Response:
    model = stored_model(store, model_id)
    if isinstance(model, tuple):
        return _error(["path", "model_id"], model[0], "unknown_model", 404)
    return model


@router.get("/models/{model_id}", summary="An uploaded model's facts", response_model=ModelInfo, responses=UNKNOWN)
def model_info(model_id: str, request: Request) -> Response:
    """The model's sizes, cell, loss and where its targets come from (404 when the server does not hold it).
    A plain def: FastAPI runs it in a worker thread (it may rebuild the model from the shared folder)."""
    model = _held(request.app.state.model_store, model_id)
    return model if isinstance(model, Response) else Response(dumps(model.info()), media_type="application/json")


@router.post("/models/{model_id}/trace", summary="An uploaded model's whole trace",
             response_class=Response, responses={200: {"description": "As POST /api/trace, with config null and "
                                                                      "a model entry"}, **UNKNOWN, 503: ERRORS[503]})
async def model_trace(model_id: str, request: Request) -> Response:
    """Forward and backward pass of the uploaded model on its input: the POST /api/trace document
    (diagnosis and spectra included) with ``config`` null and ``model`` its facts."""
    store = request.app.state.model_store
    return await in_engine_slot(request, lambda: _trace_json(store, model_id))


def _trace_json(store: ModelStore, model_id: str) -> Response:
    model = _held(store, model_id)
    if isinstance(model, Response):
        return model
    document = trace_document(model.run(), None, None)
    document["model"] = to_jsonable(model.info())
    return Response(json.dumps(document, separators=(",", ":"), allow_nan=False), media_type="application/json")
