"""Training: a model-agnostic Trainer, callbacks, the run history and checkpoints."""

from sketchwidgets.train.callbacks import (
    Callback,
    Checkpointer,
    HistoryRecorder,
    NaNGuard,
    ProgressBar,
    SampleGrid,
    TrainingDiverged,
    Validation,
)
from sketchwidgets.train.checkpoint import load_checkpoint, save_checkpoint
from sketchwidgets.train.history import History
from sketchwidgets.train.trainer import Trainer

__all__ = [
    "Callback",
    "Checkpointer",
    "History",
    "HistoryRecorder",
    "NaNGuard",
    "ProgressBar",
    "SampleGrid",
    "Trainer",
    "TrainingDiverged",
    "Validation",
    "load_checkpoint",
    "save_checkpoint",
]
