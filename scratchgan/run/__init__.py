"""Runs: training a GAN on MNIST end to end, with its output folder and checkpoints.

    from scratchgan.run import TrainConfig, train
    result = train(TrainConfig(model="mlp", epochs=5, out="runs/mlp"))

config.py says what a run is asked to do, loop.py runs it, folder.py writes its files and
checkpoint.py its checkpoint.
"""
from scratchgan.run.checkpoint import (CheckpointError, load_checkpoint, load_generator,
                                       sample_images, save_checkpoint)
from scratchgan.run.config import (MODEL_DEFAULTS, ConfigError, TrainConfig, build_models, noise,
                                   resolve_config)
from scratchgan.run.folder import RunFolder
from scratchgan.run.loop import (TrainEvent, TrainingDiverged, TrainingInterrupted, TrainResult,
                                 train)

__all__ = ["train", "TrainConfig", "TrainEvent", "TrainResult", "ConfigError", "TrainingDiverged",
           "TrainingInterrupted", "build_models", "resolve_config", "MODEL_DEFAULTS", "noise",
           "RunFolder", "CheckpointError", "load_checkpoint", "save_checkpoint", "load_generator",
           "sample_images"]
