"""The output folder of a run: sample grids, metrics.csv, plots, progress.gif and the checkpoint.

    out/samples/epoch_NNN.png          the fixed noise's grid after each epoch
    out/samples/epoch_NNN_partial.png  the same, for an epoch a stop left part done
    out/metrics.csv, metrics_eval.csv  losses every few steps; sample quality every few epochs
    out/losses.png, metrics.png        their plots
    out/progress.gif                   the epoch grids, one frame each
    out/checkpoint.npz                 everything needed to resume (scratchgan.run.checkpoint)
"""
import csv
import re
from pathlib import Path

import numpy

from scratchgan import viz
from scratchgan.run.checkpoint import FILENAME as CHECKPOINT_NAME
from scratchgan.run.checkpoint import load_checkpoint, save_checkpoint
from scratchgan.run.config import ConfigError

HISTORY_BASE = ("epoch", "step", "seconds", "d_loss", "g_loss")  # + the loss's own statistics
HISTORY_COLUMNS = viz.HISTORY_COLUMNS  # BCE's
EVAL_COLUMNS = ("epoch", "minutes", "frechet_distance", "classifier_score", "coverage_kl",
                "nearest_train_distance")
GRID_ROWS = 8
OUTPUTS = (CHECKPOINT_NAME, "metrics.csv", "metrics_eval.csv", "losses.png", "metrics.png",
           "progress.gif")


class RunFolder:
    """Reads and writes every file of one run's folder; knows their names and formats."""

    def __init__(self, path, history_columns=HISTORY_COLUMNS, eval_columns=EVAL_COLUMNS):
        self.path = Path(path)
        self.history_columns, self.eval_columns = history_columns, eval_columns
        self.samples = self.path / "samples"
        self.checkpoint = self.path / CHECKPOINT_NAME

    def create(self):
        """Make the folder, and prove it writable now rather than after the first epoch."""
        probe = self.path / ".write-test"
        try:
            self.samples.mkdir(parents=True, exist_ok=True)
            with open(probe, "w"):
                pass
            probe.unlink()
        except OSError as e:
            raise ConfigError(f"cannot write to the output folder {self.path}: "
                              f"{e.strerror or e}") from None

    def has_checkpoint(self):
        return self.checkpoint.is_file()

    def clear(self):
        """Remove what an earlier run wrote, so that no old file mixes with the new run's."""
        for name in OUTPUTS:
            (self.path / name).unlink(missing_ok=True)
        for png in self.samples.glob("epoch_*.png"):
            png.unlink()

    # -- the checkpoint --
    def load_checkpoint(self):
        return load_checkpoint(self.checkpoint)

    def save_checkpoint(self, modules, optimizers, meta, fixed_noise, history, eval_history):
        arrays = dict(fixed_noise=fixed_noise, history=_table(history, self.history_columns),
                      eval_history=_table(eval_history, self.eval_columns))
        meta = dict(meta, history_columns=list(self.history_columns),
                    eval_columns=list(self.eval_columns))
        save_checkpoint(self.checkpoint, modules, optimizers, meta, arrays)

    @staticmethod
    def saved_histories(checkpoint):
        """(history, eval_history) as lists of row dicts, from a loaded checkpoint."""
        columns = checkpoint.meta.get("history_columns", HISTORY_COLUMNS)
        history = [dict(zip(columns, row)) for row in checkpoint.arrays["history"].tolist()]
        for row in history:
            row["epoch"], row["step"] = int(row["epoch"]), int(row["step"])
        eval_columns = checkpoint.meta.get("eval_columns", EVAL_COLUMNS)
        eval_history = [dict(zip(eval_columns, row))
                        for row in checkpoint.arrays["eval_history"].tolist()]
        return history, eval_history

    # -- sample grids --
    def epoch_grid(self, number, partial=False):
        return self.samples / f"epoch_{number:03d}{'_partial' if partial else ''}.png"

    def save_grid(self, images, number, columns=None, partial=False):
        """(uint8 grid, its path) of ``images`` after epoch ``number``, complete or partial;
        ``columns`` images a row (default 8)."""
        grid = viz.image_grid(images, nrow=columns or GRID_ROWS)
        path = viz.save_image(grid, self.epoch_grid(number, partial))
        if not partial:
            self.epoch_grid(number, partial=True).unlink(missing_ok=True)
        return grid, path

    # -- tables and pictures --
    def start_logs(self, history, eval_history, with_eval):
        """(Re)start the CSVs from the rows the checkpoint knows, so they never hold rows from
        after it."""
        self._rewrite_csv("metrics.csv", self.history_columns, history)
        if with_eval:
            self._rewrite_csv("metrics_eval.csv", self.eval_columns, eval_history)

    def log_step(self, row):
        self._append_csv("metrics.csv", self.history_columns, row)

    def log_eval(self, row):
        self._append_csv("metrics_eval.csv", self.eval_columns, row)

    def _rewrite_csv(self, name, columns, rows):
        with open(self.path / name, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows(_csv_row(r, columns) for r in rows)

    def _append_csv(self, name, columns, row):
        with open(self.path / name, "a", newline="") as f:
            csv.writer(f).writerow(_csv_row(row, columns))

    def write_plots(self, history, eval_history):
        if history:
            viz.plot_losses(history, self.path / "losses.png")
        if eval_history:
            viz.plot_eval_metrics(eval_history, self.path / "metrics.png")

    def write_gif(self, partial_epoch=None):
        """progress.gif from the epoch grids, ending with ``partial_epoch``'s partial grid if
        one was saved."""
        frames = sorted((p for p in self.samples.glob("epoch_*.png")
                         if re.fullmatch(r"epoch_\d+\.png", p.name)),
                        key=lambda p: int(p.stem.split("_")[1]))
        partial = partial_epoch and self.epoch_grid(partial_epoch, partial=True)
        if partial and partial.is_file():
            frames.append(partial)
        if frames:
            viz.save_gif(frames, self.path / "progress.gif")


def _csv_row(row, columns):
    return [f"{row[c]:.7g}" if isinstance(row[c], float) else row[c] for c in columns]


def _table(rows, columns):
    table = [[float(r[c]) for c in columns] for r in rows]
    return numpy.array(table, dtype=numpy.float64).reshape(-1, len(columns))
