"""A whole training run: ``train(config)`` repeats GANTrainer.train_step over shuffled epochs.

From Python or a notebook::

    from scratchgan.run import TrainConfig, train
    result = train(TrainConfig(model="mlp", epochs=5, out="runs/mlp"))
    result.generator          # the trained G; result.history holds the logged losses

What a run writes into ``config.out`` is described in scratchgan.run.folder. Every random
stream comes from the one seed: seed: weights; seed+1: z and dropout (the backend's
generator); seed+2: shuffling; seed+3: the grids' fixed noise; [seed+4, epoch]: eval noise.
Each stream is saved in the checkpoint, so a resumed run continues bit for bit.
"""
import contextlib
import dataclasses
import importlib
import math
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from scratchgan import backend as B
from scratchgan import viz
from scratchgan.data import (BatchIterator, DataWarning, load_emoji_faces, load_image_folder,
                             mnist_dataset)
from scratchgan.run.config import (ConfigError, TrainConfig, build_models, check_model,
                                   default_out, json_roundtrip, noise, resolve_config)
from scratchgan.run.folder import EVAL_COLUMNS, HISTORY_BASE, RunFolder
from scratchgan.trainer import CollapseMonitor, GANTrainer, thread_policy

GRID_SAMPLES = 64
GRID_COLUMNS, GRID_MAX_CLASSES = 8, 16  # conditional grids: a row per class, a column per z


class TrainingDiverged(RuntimeError):
    """A loss or a parameter became NaN or infinite; the last good checkpoint was kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run between two steps, after saving a checkpoint."""

    def __init__(self, message, checkpoint):
        super().__init__(message)
        self.checkpoint = checkpoint


@dataclass
class TrainEvent:
    """What ``train(config, callback)`` hands its callback.

    ``kind`` is "step" (every logged step), "epoch" (after each epoch's grid and checkpoint) or
    "end". ``grid`` is the epoch's fixed-noise grid as a uint8 image (epoch events only).
    """
    kind: str
    epoch: int
    step: int
    stats: dict
    history: list
    trainer: Any
    out: Path
    grid: Any = None
    grid_path: Path | None = None
    eval: dict | None = None


@dataclass
class TrainResult:
    generator: Any
    discriminator: Any
    trainer: Any
    config: TrainConfig
    history: list
    eval_history: list
    epoch: int
    step: int
    stopped: str          # "completed", "max_steps", "minutes" or "nothing to do"
    out: Path
    checkpoint: Path


@contextlib.contextmanager
def deferred_interrupt(say):
    """The first Ctrl-C only raises a flag, checked between steps; a second one interrupts at
    once."""
    state = {"requested": False}
    if threading.current_thread() is not threading.main_thread():
        yield state  # signal handlers can only be set from the main thread
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if state["requested"]:
            raise KeyboardInterrupt
        state["requested"] = True
        say("interrupted: saving a checkpoint after this step (Ctrl-C again to quit at once)")

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


class _Run:
    """One invocation of ``train``: set-up in ``__init__``, then the epoch loop in ``run``."""

    def __init__(self, config, callback):
        self.callback = callback
        self.say = (lambda msg: _tqdm().write(msg, file=sys.stdout)) if config.progress else print
        if config.model is not None:
            check_model(config.model, config.dataset)
        self.backend = B.get_backend(config.backend)
        self.folder = RunFolder(default_out(config))
        self.folder.create()
        config = dataclasses.replace(config, out=str(self.folder.path))
        saved = self._read_checkpoint(config)
        self.config = c = resolve_config(config, saved and saved.meta["config"])
        self.reference = None  # images runs: the real images the colour distance compares with
        self.batches = self._batches()
        self.evaluate_samples = self._evaluator() if c.eval_every else None
        self.trainer = self._trainer()
        self.modules = {"generator": self.trainer.generator,
                        "discriminator": self.trainer.discriminator}
        self.optimizers = {"generator": self.trainer.opt_g, "discriminator": self.trainer.opt_d}
        if self.trainer.average is not None:
            self.modules["generator_ema"] = self.trainer.average.module
        self.fixed_noise, self.grid_labels = grid_noise(c)
        self.epoch, self.step, self.offset, self.elapsed_before = 0, 0, 0, 0.0
        self.history, self.eval_history = [], []
        if saved is not None:
            self._restore(saved)
        self.t0 = time.perf_counter()
        self.monitor = CollapseMonitor() if c.loss == "bce" else None
        self.window, self.last_draw = None, 0.0

    # -- set-up --
    def _read_checkpoint(self, config):
        path = self.folder.checkpoint
        if config.resume:
            if not self.folder.has_checkpoint():
                raise ConfigError(f"--resume: no checkpoint to resume at {path}")
            saved = self.folder.load_checkpoint()
            kept = saved.meta["config"]["model"]
            if config.model and kept != config.model:
                raise ConfigError(f"--resume: {path} holds a {kept} model, not {config.model}; "
                                  "choose another --out to start a new run")
            return saved
        if self.folder.has_checkpoint():
            if not config.overwrite:
                raise ConfigError(f"{self.folder.path} already holds a checkpoint; pass --resume "
                                  "to continue it, --overwrite to start afresh, or choose another "
                                  "--out")
            self.folder.clear()
        return None

    def _batches(self):
        c = self.config
        if c.dataset == "mnist":
            images, labels = mnist_dataset(c.data, limit=c.limit)
        else:
            found = self._images()
            images = self.reference = found.to_tanh_range()[:c.limit]
            labels = found.labels[:c.limit]
            if c.conditional:
                self._take_classes(found)
        if len(images) < c.batch_size:
            raise ConfigError(f"{len(images)} training images cannot fill one batch of "
                              f"{c.batch_size}")
        self.labels = labels.astype("int64") if c.conditional else None
        return BatchIterator(images, c.batch_size, seed=c.seed + 2, backend=self.backend.name,
                             flip=c.flip, labels=self.labels)

    def _take_classes(self, found):
        """A conditional images run: its classes are the folder's first-level subfolders."""
        c, names = self.config, list(found.class_names)
        if c.class_names is not None:  # resumed
            if names != c.class_names:
                raise ConfigError(f"--resume: the checkpoint's classes are {c.class_names}, but "
                                  f"{found.source} holds {names}")
            return
        if len(names) < 2:
            raise ConfigError(f"--conditional: {found.source} holds {len(names)} class; a "
                              "conditional model needs images in at least 2 subfolders (one "
                              "per class)")
        c.class_names = names
        c.model_options = dict(c.model_options, n_classes=len(names))

    def _images(self):
        """The image folder's (or the shipped faces') float32 images, saying what was skipped."""
        c = self.config
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            if c.data is None:
                found = load_emoji_faces(c.image_size, c.channels)
            else:
                found = load_image_folder(c.data, c.image_size, c.channels)
        for warning in caught:
            self.say(f"warning: {warning.message}")
        if found.decoded:
            self.say(f"decoded {found.decoded} images from {found.source} in "
                     f"{found.decode_seconds:.1f} s ({found.decode_rate:.0f} per second); "
                     "cached for the next run")
        return found

    def _trainer(self):
        c = self.config
        try:
            G, D = build_models(c.model, c.latent_dim, c.model_options, seed=c.seed)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"model options {c.model_options} do not fit {c.model}: "
                              f"{e}") from None
        G.to(self.backend), D.to(self.backend)
        self.backend.seed(c.seed + 1)
        if self.backend is B.get_backend("numpy"):
            B.set_num_threads(B.get_num_threads(), by=thread_policy(G, D))
        trainer = GANTrainer(G, D, c.latent_dim, c.lr_g, c.lr_d, (c.beta1, c.beta2), c.loss,
                             ema=c.ema or None)
        self.folder.history_columns = HISTORY_BASE + trainer.loss.stat_names
        if c.conditional:
            self.folder.eval_columns = EVAL_COLUMNS + ("label_agreement",)
        return trainer

    def _restore(self, saved):
        c, t = self.config, self.trainer
        saved.load_into(self.modules, self.optimizers)
        for opt, lr in ((t.opt_g, c.lr_g), (t.opt_d, c.lr_d)):  # the settings asked for now win
            opt.defaults.update(lr=lr, betas=(c.beta1, c.beta2))
        m = saved.meta
        self.epoch, self.step, self.offset = m["epoch"], m["step"], m["samples_into_epoch"]
        self.elapsed_before = m["elapsed_seconds"]
        if m["rng"]["backend"] == self.backend.name:
            t.set_rng_state(m["rng"]["noise"])
        self.batches.load_state_dict(m["rng"]["data"])
        if t.average is not None:
            t.average.updates = m.get("ema_updates", 0)
        if m.get("g_loss") is not None:
            t.g_loss = self.backend.xp.asarray(m["g_loss"], dtype=B.DTYPE)
        self.fixed_noise = saved.arrays["fixed_noise"]
        self.history, self.eval_history = RunFolder.saved_histories(saved)

    # -- the loop --
    def run(self):
        c = self.config
        if self.epoch >= c.epochs or (c.max_steps and self.step >= c.max_steps):
            self.say(f"{self.folder.checkpoint} is already at epoch {self.epoch}, "
                     f"step {self.step}: nothing to train (raise --epochs or --max-steps to go on)")
            return self._result("nothing to do")
        if c.resume:
            part_done = ", the next one part done" if self.offset else ""
            self.say(f"resuming {c.model} in {self.folder.path} at step {self.step} ({self.epoch} "
                     f"epochs done{part_done}); training up to {c.epochs} epochs in total")
        self.folder.start_logs(self.history, self.eval_history, with_eval=bool(c.eval_every))
        self.window = self._open_window()
        try:
            with deferred_interrupt(self.say) as interrupt:
                stopped = self._loop(interrupt)
        finally:
            if self.window:
                self.window.close()
        self._emit("end", stats=self.history[-1] if self.history else {})
        return self._result(stopped)

    def _loop(self, interrupt):
        c, size, per_epoch = self.config, self.config.batch_size, len(self.batches)
        while self.epoch < c.epochs:
            epoch_state = self.batches.state_dict()  # a part-done epoch is replayed from here
            first = min(self.offset // size, per_epoch)
            stopped = None
            with self._progress_bar(first) as bar:
                for number, batch in enumerate(self.batches.epoch(first), start=first + 1):
                    images, labels = batch if c.conditional else (batch, None)
                    stats = self.trainer.train_step(images, self.step % c.n_critic == 0, labels)
                    self.step, self.offset = self.step + 1, number * size
                    bar.update(1)
                    self._after_step(stats, bar)
                    stopped = self._stop_reason(interrupt)
                    if stopped:
                        break
            if self.offset >= per_epoch * size:
                self._end_epoch()
            else:
                self._save_part_done_epoch(epoch_state, stopped)
            if stopped:
                return self._stop(stopped)
        return "completed"

    # -- hooks of the loop --
    def _progress_bar(self, first):
        c = self.config
        return _tqdm()(total=len(self.batches), initial=first, unit="step", dynamic_ncols=True,
                       desc=f"epoch {self.epoch + 1}/{c.epochs}", disable=not c.progress)

    def _after_step(self, stats, bar):
        if not (math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"])):
            self._log(stats)
            self.folder.write_plots(self.history, self.eval_history)
            raise TrainingDiverged(
                f"epoch {self.epoch + 1}, step {self.step}: the loss is not finite (D loss "
                f"{stats['d_loss']}, G loss {stats['g_loss']}); training stopped. "
                f"{self._kept_checkpoint()}")
        if self.step % self.config.log_every == 0:
            self._log(stats)
            self._report(stats, bar)

    def _stop_reason(self, interrupt):
        c = self.config
        if interrupt["requested"]:
            return "interrupted"
        if c.max_steps and self.step >= c.max_steps:
            return "max_steps"
        if c.minutes and time.perf_counter() - self.t0 >= c.minutes * 60:
            return "minutes"
        return None

    def _end_epoch(self):
        self._guard_parameters()
        number = self.epoch + 1
        grid, path = self.folder.save_grid(self._grid_images(), number, self._grid_columns())
        self.epoch, self.offset = number, 0
        c = self.config
        result = self._evaluate() if c.eval_every and number % c.eval_every == 0 else None
        self._save_checkpoint(self.batches.state_dict(), "epoch")
        self.folder.write_plots(self.history, self.eval_history)
        if self.window:
            self.window.update(grid=grid, history=self.history, title=f"epoch {number}")
        self._emit("epoch", stats=self.history[-1] if self.history else {}, grid=grid,
                   grid_path=path, eval=result)

    def _save_part_done_epoch(self, epoch_state, stopped):
        self._guard_parameters()
        self.folder.save_grid(self._grid_images(), self.epoch + 1, self._grid_columns(),
                              partial=True)
        self._save_checkpoint(epoch_state, stopped)

    def _stop(self, stopped):
        self.folder.write_plots(self.history, self.eval_history)
        self.folder.write_gif(partial_epoch=self.epoch + 1 if self.offset else None)
        where = f"epoch {self.epoch + 1 if self.offset else self.epoch}, step {self.step}"
        path = self.folder.checkpoint
        if stopped == "interrupted":
            raise TrainingInterrupted(f"interrupted at {where}; checkpoint saved to {path}; "
                                      "continue with --resume", path)
        if stopped == "max_steps":
            reason = f"--max-steps {self.config.max_steps} reached"
        else:
            reason = f"time limit of {self.config.minutes:g} minutes reached"
        self.say(f"{reason} at {where}; checkpoint saved to {path} (continue with --resume)")
        return stopped

    # -- what the hooks share --
    def _log(self, stats):
        row = dict(epoch=self.epoch + 1, step=self.step, seconds=self._seconds(), **stats)
        self.history.append(row)
        self.folder.log_step(row)

    def _report(self, stats, bar):
        shown = {"D loss": stats["d_loss"], "G loss": stats["g_loss"]}
        if "wasserstein" in stats:
            shown["W"] = stats["wasserstein"]
        else:
            shown.update({"D(x)": stats["d_real"], "D(G(z))": stats["d_fake"]})
        bar.set_postfix({k: f"{v:.3f}" for k, v in shown.items()}, refresh=False)
        warning = self.monitor and self.monitor.update(stats, self.epoch + 1, self.step)
        if warning:
            self.say(warning)
        if self.window and time.perf_counter() - self.last_draw > 1.0:
            self.window.update(history=self.history)
            self.last_draw = time.perf_counter()
        self._emit("step", stats=stats)

    def _guard_parameters(self):
        """Never overwrite the last good checkpoint with NaN weights."""
        for name, module in self.modules.items():
            if not _all_finite(module):
                raise TrainingDiverged(f"epoch {self.epoch + 1}, step {self.step}: the {name}'s "
                                       f"weights are not finite; training stopped. "
                                       f"{self._kept_checkpoint()}")

    def _kept_checkpoint(self):
        if self.folder.has_checkpoint():
            return (f"The last good checkpoint {self.folder.checkpoint} is kept; lower the "
                    "learning rates and --resume")
        return "No checkpoint had been written yet; lower the learning rates and start again"

    def _grid_images(self):
        return self.trainer.generate(self.fixed_noise, labels=self.grid_labels)

    def _grid_columns(self):
        return GRID_COLUMNS if self.grid_labels is not None else None

    def _evaluator(self):
        """MNIST: every score of scratchgan.metrics; images: the colour Fréchet distance against
        the training images (the other columns stay empty)."""
        if self.reference is None:
            return _import_metrics()
        from scratchgan.metrics.colour import colour_frechet_distance

        def colour_scores(samples, n, labels=None):
            reference = self.reference[:max(n, 2)]
            nan = float("nan")
            return dict(frechet_distance=colour_frechet_distance(samples, reference),
                        classifier_score=nan, coverage_kl=nan, nearest_train_distance=nan,
                        label_agreement=nan)
        return colour_scores

    def _evaluate(self):
        c = self.config
        z = noise(c.eval_samples, c.latent_dim, [c.seed + 4, self.epoch])
        labels = None
        if c.conditional:  # the classes in the data's proportions
            pick = numpy.random.default_rng([c.seed + 4, self.epoch]).choice(len(self.labels),
                                                                             c.eval_samples)
            labels = self.labels[pick]
        samples = self.trainer.generate(z, labels=labels)
        asked = {} if labels is None else {"labels": labels}
        result = self.evaluate_samples(samples, n=c.eval_samples, **asked)
        columns = self.folder.eval_columns[2:]
        row = dict(epoch=self.epoch, minutes=self._seconds() / 60,
                   **{k: float(result[k]) for k in columns})
        self.eval_history.append(row)
        self.folder.log_eval(row)
        self.say(f"epoch {self.epoch}: " + ", ".join(f"{k} {row[k]:.4g}" for k in columns))
        return dict(result)

    def _save_checkpoint(self, data_state, stopped):
        c = self.config
        rng = dict(backend=self.backend.name, noise=self.trainer.get_rng_state(), data=data_state)
        g_loss = self.trainer.g_loss  # reported again by critic-only steps after a resume
        average = self.trainer.average
        if average is not None:
            average.ready()  # the saved average carries statistics measured for its weights
        meta = dict(model=c.model, config=json_roundtrip(dataclasses.asdict(c)), epoch=self.epoch,
                    step=self.step, samples_into_epoch=self.offset,
                    elapsed_seconds=self._seconds(), stopped=stopped, rng=rng,
                    g_loss=None if g_loss is None else float(B.to_numpy(g_loss)),
                    ema_updates=None if average is None else average.updates)
        self.folder.save_checkpoint(self.modules, self.optimizers, meta, self.fixed_noise,
                                    self.history, self.eval_history)

    def _seconds(self):
        return self.elapsed_before + (time.perf_counter() - self.t0)

    def _open_window(self):
        if not self.config.show:
            return None
        if not viz.display_available():
            self.say("--show ignored: no display (DISPLAY is unset or matplotlib's backend is "
                     "non-interactive)")
            return None
        return viz.LiveWindow(f"scratchgan {self.config.model}")

    def _emit(self, kind, **fields):
        if self.callback is not None:
            self.callback(TrainEvent(kind=kind, epoch=self.epoch, step=self.step,
                                     history=self.history, trainer=self.trainer,
                                     out=self.folder.path, **fields))

    def _result(self, stopped):
        if stopped == "completed":
            self.folder.write_plots(self.history, self.eval_history)
            self.folder.write_gif()
        t = self.trainer
        return TrainResult(t.generator, t.discriminator, t, self.config, self.history,
                           self.eval_history, self.epoch, self.step, stopped, self.folder.path,
                           self.folder.checkpoint)


def grid_noise(config):
    """The grids' fixed latents, and their labels: 64 samples, or for a conditional model a row
    per class (up to 16) with the same 8 latents in every row, so that a column shows one z
    drawn as each class."""
    c = config
    if not c.conditional:
        return noise(GRID_SAMPLES, c.latent_dim, c.seed + 3), None
    rows = min(len(c.class_names), GRID_MAX_CLASSES)
    z = noise(GRID_COLUMNS, c.latent_dim, c.seed + 3)
    return numpy.tile(z, (rows, 1)), numpy.repeat(numpy.arange(rows), GRID_COLUMNS)


def _import_metrics():
    try:
        return importlib.import_module("scratchgan.metrics").evaluate_samples
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"--eval-every needs scratchgan.metrics.evaluate_samples, which cannot "
                          f"be imported ({e})") from None


def _all_finite(module):
    return all(bool(B.xp_of(p.array).isfinite(p.array).all()) for p in module.parameters())


def _tqdm():
    from tqdm.auto import tqdm
    return tqdm


def train(config=None, callback=None, **fields):
    """Train a GAN on MNIST as ``config`` (a TrainConfig; keyword ``fields`` override it) says.

    ``callback(event)``, if given, receives a TrainEvent at every logged step, after every epoch
    and at the end. In a notebook, show each epoch's grid inline with::

        from IPython.display import Image, display
        train(TrainConfig(model="mlp", epochs=5),
              callback=lambda e: e.kind == "epoch" and display(Image(filename=str(e.grid_path))))

    Stops after ``epochs`` epochs, ``max_steps`` steps or ``minutes`` minutes, saving a checkpoint
    each time it stops. Ctrl-C stops between two steps, saves, and raises TrainingInterrupted.
    A NaN loss raises TrainingDiverged without overwriting the last good checkpoint.
    Returns a TrainResult (networks, trainer, history, where it stopped).
    """
    config = dataclasses.replace(config or TrainConfig(), **fields)
    return _Run(config, callback).run()
