"""Unrolled's engine: recurrent networks unrolled in time, in pure NumPy.

    from unrolled import engine
    net = engine.Network.random(cell="lstm", input_size=3, hidden_size=8, output_size=4, seed=0)
    trace = net.run(x, targets, loss="cross_entropy")     # x (T, B, 3), targets (T, B)
    for event in net.steps(x, targets): ...               # one event per cell step

See docs/DESIGN.md, section "Trace contract", for the contract of Network and Trace.
"""
from .analysis.diagnosis import Finding, Thresholds, diagnose, weight_spectra
from .cells import CELL_TYPES, cell_spec, get_cell
from .events import Event, replay
from .chain import Segment, plain_chain
from .schedule import event_count, event_schedule, plain_schedule
from .gradcheck import gradcheck
from .network import Network
from .norms import batch_mean_norm
from .patterns import Seq2Seq, free_run, seq2seq_chain
from .sample import sample
from .train import Trainer, TrainOptions
from .recorder import StepRun
from .trace import Trace
from .topologies.loading import load_trace   # a chain's, a feedback network's or a tree's trace (issue 15)
from .torch_model import TorchReplay, from_torch_model   # any torch model around its RNN (issue 21; torch optional)

__all__ = ["CELL_TYPES", "cell_spec", "get_cell", "Event", "Finding", "Network", "Seq2Seq",
           "StepRun", "Thresholds", "Trace", "TrainOptions", "Trainer", "batch_mean_norm", "diagnose",
           "event_count", "event_schedule", "plain_schedule", "Segment", "free_run", "gradcheck", "load_trace",
           "plain_chain", "replay", "sample", "seq2seq_chain", "weight_spectra",
           "TorchReplay", "from_torch_model"]
