"""Training a GAN on MNIST: one adversarial step (``GANTrainer``) and a whole run (``train``).

From Python or a notebook::

    from scratchgan.train import TrainConfig, train
    result = train(TrainConfig(model="mlp", epochs=5, out="runs/mlp"))
    result.generator          # the trained G; result.history holds the logged losses

``train`` writes into ``config.out``: samples/epoch_NNN.png (the same fixed noise after every
epoch), metrics.csv, losses.png, progress.gif and checkpoint.npz (see scratchgan.checkpoint).
"""
import contextlib
import csv
import dataclasses
import importlib
import math
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy

from scratchgan import backend as B
from scratchgan import models, viz
from scratchgan.checkpoint import FILENAME as CHECKPOINT_NAME
from scratchgan.checkpoint import load_checkpoint, save_checkpoint
from scratchgan.data import mnist_dataset
from scratchgan.trainer import CollapseMonitor, GANTrainer, generate_images  # noqa: F401  (re-exported)

# The per-model training defaults, in one place (the DCGAN paper's Adam settings for both).
MODEL_DEFAULTS = {
    "mlp": dict(batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, epochs=20),
    "dcgan": dict(batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, epochs=5),
}
DEFAULT_MODEL, DEFAULT_LATENT_DIM, DEFAULT_SEED = "mlp", 100, 0
GRID_SAMPLES, GRID_ROWS = 64, 8
HISTORY_COLUMNS = viz.HISTORY_COLUMNS
EVAL_COLUMNS = ("epoch", "minutes", "frechet_distance", "classifier_score", "coverage_kl", "nearest_train_distance")
# Fields that shape the networks or the random streams: a resumed run must keep them.
ARCHITECTURE_FIELDS = ("model", "latent_dim", "model_options", "seed")


class ConfigError(ValueError):
    """The run was asked for something it cannot do (bad option, wrong checkpoint, unwritable folder)."""


class TrainingDiverged(RuntimeError):
    """A loss or a parameter became NaN or infinite; the last good checkpoint was kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run between two steps, after saving a checkpoint."""

    def __init__(self, message, checkpoint):
        super().__init__(message)
        self.checkpoint = checkpoint


@dataclass
class TrainConfig:
    """Everything a run needs. ``None`` means: the checkpoint's value when resuming, else the default."""
    model: str | None = None              # "mlp" or "dcgan"
    epochs: int | None = None             # total epochs, counting those of a resumed run
    minutes: float | None = None          # wall-clock budget of this invocation; stop and save when spent
    batch_size: int | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    latent_dim: int | None = None
    seed: int | None = None
    out: str | None = None                # default runs/<model>
    resume: bool = False
    data: str | None = None               # MNIST folder; None: the files shipped with the package
    max_steps: int | None = None          # total optimisation steps, counting those of a resumed run
    backend: str = "numpy"
    show: bool = False                    # live matplotlib window, when a display exists
    eval_every: int | None = None         # epochs between sample-quality evaluations
    log_every: int = 10                   # steps between rows of metrics.csv
    limit: int | None = None              # train on the first `limit` images only
    model_options: dict = field(default_factory=dict)  # builder keywords, e.g. widths
    overwrite: bool = False               # start afresh in an `out` that holds a checkpoint
    eval_samples: int = 5000
    progress: bool = True                 # tqdm bars


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


def resolve_config(config, saved=None):
    """A copy of ``config`` with every None filled: from the checkpoint's config ``saved``, else the defaults."""
    c = dataclasses.replace(config)
    model = c.model or (saved or {}).get("model") or DEFAULT_MODEL
    if model not in models.NAMES:
        raise ConfigError(f"unknown model {model!r}: expected one of {', '.join(models.NAMES)}")
    c.model = model
    if saved is not None:
        for name in ARCHITECTURE_FIELDS:
            given, kept = getattr(config, name), saved[name]
            if name == "model_options":
                given = _json_roundtrip(given) if given else None
            if given is not None and given != kept:
                raise ConfigError(f"--resume: the checkpoint's {name} is {kept!r}, not {given!r}; "
                                  "choose another --out to start a new run")
            setattr(c, name, kept)
        for name in (*MODEL_DEFAULTS[model], "data", "limit"):
            if getattr(c, name) is None:
                setattr(c, name, saved[name])
    for name, value in MODEL_DEFAULTS[model].items():
        if getattr(c, name) is None:
            setattr(c, name, value)
    c.latent_dim = DEFAULT_LATENT_DIM if c.latent_dim is None else c.latent_dim
    c.seed = DEFAULT_SEED if c.seed is None else c.seed
    c.out = c.out or str(Path("runs") / model)
    for name in ("epochs", "batch_size", "latent_dim", "log_every", "eval_samples"):
        if getattr(c, name) < 1:
            raise ConfigError(f"{name.replace('_', '-')} must be at least 1, got {getattr(c, name)}")
    for name in ("minutes", "max_steps", "eval_every", "limit", "lr_g", "lr_d"):
        if getattr(c, name) is not None and getattr(c, name) <= 0:
            raise ConfigError(f"{name.replace('_', '-')} must be positive, got {getattr(c, name)}")
    for name in ("beta1", "beta2"):
        if not 0 <= getattr(c, name) < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {getattr(c, name)}")
    return c


def _json_roundtrip(value):
    import json
    return json.loads(json.dumps(value))


def build_models(model, latent_dim=100, options=None, seed=None):
    """(G, D) built on the host NumPy backend whatever backend is active; move them with ``.to(backend)``.

    Building on the host makes a seed give the same initial weights on every backend.
    """
    previous = B.active()
    B.use_backend("numpy")
    try:
        if seed is not None:
            B.get_backend("numpy").seed(seed)
        return models.build(model, latent_dim, **(options or {}))
    finally:
        B.use_backend(previous)


@contextlib.contextmanager
def _deferred_interrupt(say):
    """The first Ctrl-C only raises a flag, checked between steps; a second one interrupts at once."""
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


def _all_finite(module):
    return all(bool(B.xp_of(p.data).isfinite(p.data).all()) for p in module.parameters())


class _Run:
    """One invocation of ``train``: set-up, the epoch loop, and everything written to ``out``."""

    def __init__(self, config, callback):
        self.callback = callback
        self.say = (lambda msg: _tqdm().write(msg, file=sys.stdout)) if config.progress else print
        if config.model is not None and config.model not in models.NAMES:
            raise ConfigError(f"unknown model {config.model!r}: expected one of {', '.join(models.NAMES)}")
        self.backend = B.get_backend(config.backend)
        out = Path(config.out or Path("runs") / (config.model or DEFAULT_MODEL))
        config = dataclasses.replace(config, out=str(out))
        self.out, self.samples_dir, self.checkpoint_path = out, out / "samples", out / CHECKPOINT_NAME
        self._prepare_out()
        saved = self._read_checkpoint(config)
        self.config = config = resolve_config(config, saved and saved.meta["config"])
        self.evaluate_samples = self._import_metrics() if config.eval_every else None
        self._load_data()
        self._build(saved)

    # -- set-up --
    def _prepare_out(self):
        try:
            self.samples_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out / ".write-test", "w"):
                pass
            (self.out / ".write-test").unlink()
        except OSError as e:
            raise ConfigError(f"cannot write to the output folder {self.out}: {e.strerror or e}") from None

    def _read_checkpoint(self, config):
        exists = self.checkpoint_path.is_file()
        if config.resume:
            if not exists:
                raise ConfigError(f"--resume: no checkpoint to resume at {self.checkpoint_path}")
            saved = load_checkpoint(self.checkpoint_path)
            if config.model and saved.meta["config"]["model"] != config.model:
                raise ConfigError(f"--resume: {self.checkpoint_path} holds a {saved.meta['config']['model']} "
                                  f"model, not {config.model}; choose another --out to start a new run")
            return saved
        if exists and not config.overwrite:
            raise ConfigError(f"{self.out} already holds a checkpoint; pass --resume to continue it, "
                              "--overwrite to start afresh, or choose another --out")
        if exists:
            self._remove_old_outputs()
        return None

    def _remove_old_outputs(self):
        for name in (CHECKPOINT_NAME, "metrics.csv", "metrics_eval.csv", "losses.png", "metrics.png", "progress.gif"):
            (self.out / name).unlink(missing_ok=True)
        for png in self.samples_dir.glob("epoch_*.png"):
            png.unlink()

    def _import_metrics(self):
        try:
            return importlib.import_module("scratchgan.metrics").evaluate_samples
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"--eval-every needs scratchgan.metrics.evaluate_samples, which cannot be "
                              f"imported ({e})") from None

    def _load_data(self):
        images, _ = mnist_dataset(self.config.data, limit=self.config.limit)
        c = self.config
        self.batches_per_epoch = len(images) // c.batch_size
        if self.batches_per_epoch == 0:
            raise ConfigError(f"{len(images)} training images cannot fill one batch of {c.batch_size}")
        self.images = self.backend.asarray(images)  # to the device once
        self.data_rng = numpy.random.default_rng(c.seed + 2)

    def _build(self, saved):
        """Networks, optimizers and the four random streams derived from the one seed.

        seed: weights; seed+1: z and dropout (the backend's generator); seed+2: shuffling;
        seed+3: the fixed noise of the sample grids. Eval noise uses [seed+4, epoch].
        """
        c = self.config
        try:
            G, D = build_models(c.model, c.latent_dim, c.model_options, seed=c.seed)
        except TypeError as e:
            raise ConfigError(f"model options {c.model_options} do not fit {c.model}: {e}") from None
        G.to(self.backend), D.to(self.backend)
        self.trainer = GANTrainer(G, D, c.latent_dim, c.lr_g, c.lr_d, (c.beta1, c.beta2), seed=c.seed + 1)
        self.fixed_noise = numpy.random.default_rng(c.seed + 3).standard_normal(
            (GRID_SAMPLES, c.latent_dim), dtype=numpy.float32)
        self.epoch, self.step, self.offset, self.elapsed_before = 0, 0, 0, 0.0
        self.history, self.eval_history = [], []
        if saved is not None:
            self._restore(saved)
        self.modules = {"generator": G, "discriminator": D}
        self.optimizers = {"generator": self.trainer.opt_g, "discriminator": self.trainer.opt_d}

    def _restore(self, saved):
        c, t = self.config, self.trainer
        saved.load_into({"generator": t.generator, "discriminator": t.discriminator},
                        {"generator": t.opt_g, "discriminator": t.opt_d})
        for opt, lr in ((t.opt_g, c.lr_g), (t.opt_d, c.lr_d)):  # the hyper-parameters asked for now win
            opt.defaults.update(lr=lr, betas=(c.beta1, c.beta2))
        m = saved.meta
        self.epoch, self.step, self.offset = m["epoch"], m["step"], m["samples_into_epoch"]
        self.elapsed_before = m["elapsed_seconds"]
        if m["rng"]["backend"] == self.backend.name:
            t.set_rng_state(m["rng"]["noise"])
        self.data_rng.bit_generator.state = m["rng"]["data"]
        self.fixed_noise = saved.arrays["fixed_noise"]
        self.history = [dict(zip(HISTORY_COLUMNS, row)) for row in saved.arrays["history"].tolist()]
        self.eval_history = [dict(zip(EVAL_COLUMNS, row)) for row in saved.arrays["eval_history"].tolist()]
        for row in self.history:
            row["epoch"], row["step"] = int(row["epoch"]), int(row["step"])

    # -- files --
    def _rewrite_csv(self, name, columns, rows):
        """(Re)start a CSV from the rows the checkpoint knows, so it never holds rows from after it."""
        with open(self.out / name, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows(_csv_row(r, columns) for r in rows)

    def _append_csv(self, name, columns, row):
        with open(self.out / name, "a", newline="") as f:
            csv.writer(f).writerow(_csv_row(row, columns))

    def _save_checkpoint(self, data_state, stopped):
        c = self.config
        meta = dict(model=c.model, config=_json_roundtrip(dataclasses.asdict(c)), epoch=self.epoch, step=self.step,
                    samples_into_epoch=self.offset, elapsed_seconds=self._seconds(), stopped=stopped,
                    rng=dict(backend=self.backend.name, noise=self.trainer.get_rng_state(), data=data_state))
        arrays = dict(fixed_noise=self.fixed_noise,
                      history=_table(self.history, HISTORY_COLUMNS),
                      eval_history=_table(self.eval_history, EVAL_COLUMNS))
        save_checkpoint(self.checkpoint_path, self.modules, self.optimizers, meta, arrays)

    def _seconds(self):
        return self.elapsed_before + (time.perf_counter() - self.t0)

    def _grid(self, name):
        grid = viz.image_grid(self.trainer.generate(self.fixed_noise), nrow=GRID_ROWS)
        return grid, viz.save_image(grid, self.samples_dir / name)

    def _write_plots(self):
        if self.history:
            viz.plot_losses(self.history, self.out / "losses.png")
        if self.eval_history:
            viz.plot_eval_metrics(self.eval_history, self.out / "metrics.png")

    def _write_gif(self, partial=None):
        frames = sorted((p for p in self.samples_dir.glob("epoch_*.png") if re.fullmatch(r"epoch_\d+\.png", p.name)),
                        key=lambda p: int(p.stem.split("_")[1]))
        frames += [partial] if partial else []
        if frames:
            viz.save_gif(frames, self.out / "progress.gif")

    # -- the loop --
    def run(self):
        c = self.config
        self.t0 = time.perf_counter()
        if self.epoch >= c.epochs or (c.max_steps and self.step >= c.max_steps):
            self.say(f"{self.checkpoint_path} is already at epoch {self.epoch}, step {self.step}: nothing to train "
                     "(raise --epochs or --max-steps to go on)")
            return self._result("nothing to do")
        if c.resume:
            self.say(f"resuming {c.model} in {self.out} at step {self.step} ({self.epoch} epochs done"
                     f"{', the next one part done' if self.offset else ''}); training up to {c.epochs} epochs in total")
        self._rewrite_csv("metrics.csv", HISTORY_COLUMNS, self.history)
        if c.eval_every:
            self._rewrite_csv("metrics_eval.csv", EVAL_COLUMNS, self.eval_history)
        self.monitor = CollapseMonitor()
        self.window = self._open_window()
        try:
            with _deferred_interrupt(self.say) as interrupt:
                stopped = self._loop(interrupt)
        finally:
            if self.window:
                self.window.close()
        self._emit("end", stats=self.history[-1] if self.history else {})
        return self._result(stopped)

    def _open_window(self):
        if not self.config.show:
            return None
        if not viz.display_available():
            self.say("--show ignored: no display (DISPLAY is unset or matplotlib's backend is non-interactive)")
            return None
        self.last_draw = 0.0
        return viz.LiveWindow(f"scratchgan {self.config.model}")

    def _loop(self, interrupt):
        c, bs, nb = self.config, self.config.batch_size, self.batches_per_epoch
        while self.epoch < c.epochs:
            data_state = self.data_rng.bit_generator.state  # the epoch's order is drawn from here
            order = self.backend.asarray(self.data_rng.permutation(len(self.images)))
            first = min(self.offset // bs, nb)
            stopped = None
            with _tqdm()(total=nb, initial=first, desc=f"epoch {self.epoch + 1}/{c.epochs}", unit="step",
                         dynamic_ncols=True, disable=not c.progress) as bar:
                for b in range(first, nb):
                    stats = self.trainer.train_step(self.images[order[b * bs:(b + 1) * bs]])
                    self.step += 1
                    self.offset = (b + 1) * bs
                    bar.update(1)
                    self._check_finite(stats)
                    if self.step % c.log_every == 0:
                        self._log(stats, bar)
                    stopped = self._stop_reason(interrupt)
                    if stopped:
                        break
            if self.offset >= nb * bs:
                self._end_epoch()
            else:
                self._save_partial(data_state, stopped)
            if stopped:
                return self._stop(stopped)
        return "completed"

    def _stop_reason(self, interrupt):
        c = self.config
        if interrupt["requested"]:
            return "interrupted"
        if c.max_steps and self.step >= c.max_steps:
            return "max_steps"
        if c.minutes and time.perf_counter() - self.t0 >= c.minutes * 60:
            return "minutes"
        return None

    def _check_finite(self, stats):
        if not (math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"])):
            self._log(stats, None)
            self._write_plots()
            raise TrainingDiverged(
                f"epoch {self.epoch + 1}, step {self.step}: the loss is not finite (D loss {stats['d_loss']}, "
                f"G loss {stats['g_loss']}); training stopped. {self._kept_checkpoint()}")

    def _kept_checkpoint(self):
        if self.checkpoint_path.is_file():
            return f"The last good checkpoint {self.checkpoint_path} is kept; lower the learning rates and --resume"
        return "No checkpoint had been written yet; lower the learning rates and start again"

    def _log(self, stats, bar):
        row = dict(epoch=self.epoch + 1, step=self.step, seconds=self._seconds(), **stats)
        self.history.append(row)
        self._append_csv("metrics.csv", HISTORY_COLUMNS, row)
        if bar is None:
            return
        bar.set_postfix({"D loss": f"{stats['d_loss']:.3f}", "G loss": f"{stats['g_loss']:.3f}",
                         "D(x)": f"{stats['d_real']:.2f}", "D(G(z))": f"{stats['d_fake']:.2f}"}, refresh=False)
        warning = self.monitor.update(stats, self.epoch + 1, self.step)
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
                raise TrainingDiverged(f"epoch {self.epoch + 1}, step {self.step}: the {name}'s weights are not "
                                       f"finite; training stopped. {self._kept_checkpoint()}")

    def _end_epoch(self):
        self._guard_parameters()
        number = self.epoch + 1
        grid, path = self._grid(f"epoch_{number:03d}.png")
        (self.samples_dir / f"epoch_{number:03d}_partial.png").unlink(missing_ok=True)
        self.epoch, self.offset = number, 0
        result = self._evaluate() if self.config.eval_every and number % self.config.eval_every == 0 else None
        self._save_checkpoint(self.data_rng.bit_generator.state, "epoch")
        self._write_plots()
        if self.window:
            self.window.update(grid=grid, history=self.history, title=f"epoch {number}")
        self._emit("epoch", stats=self.history[-1] if self.history else {}, grid=grid, grid_path=path, eval=result)

    def _save_partial(self, data_state, stopped):
        self._guard_parameters()
        self._grid(f"epoch_{self.epoch + 1:03d}_partial.png")
        self._save_checkpoint(data_state, stopped)

    def _stop(self, stopped):
        self._write_plots()
        partial = self.samples_dir / f"epoch_{self.epoch + 1:03d}_partial.png"
        self._write_gif(partial if self.offset and partial.is_file() else None)
        where = f"epoch {self.epoch + 1 if self.offset else self.epoch}, step {self.step}"
        if stopped == "interrupted":
            raise TrainingInterrupted(f"interrupted at {where}; checkpoint saved to {self.checkpoint_path}; "
                                      "continue with --resume", self.checkpoint_path)
        if stopped == "max_steps":
            reason = f"--max-steps {self.config.max_steps} reached"
        else:
            reason = f"time limit of {self.config.minutes:g} minutes reached"
        self.say(f"{reason} at {where}; checkpoint saved to {self.checkpoint_path} (continue with --resume)")
        return stopped

    def _evaluate(self):
        c = self.config
        z = numpy.random.default_rng([c.seed + 4, self.epoch]).standard_normal((c.eval_samples, c.latent_dim),
                                                                               dtype=numpy.float32)
        result = self.evaluate_samples(self.trainer.generate(z), n=c.eval_samples)
        row = dict(epoch=self.epoch, minutes=self._seconds() / 60,
                   **{k: float(result[k]) for k in EVAL_COLUMNS[2:]})
        self.eval_history.append(row)
        self._append_csv("metrics_eval.csv", EVAL_COLUMNS, row)
        self.say(f"epoch {self.epoch}: " + ", ".join(f"{k} {row[k]:.4g}" for k in EVAL_COLUMNS[2:]))
        return dict(result)

    def _emit(self, kind, **fields):
        if self.callback is not None:
            self.callback(TrainEvent(kind=kind, epoch=self.epoch, step=self.step, history=self.history,
                                     trainer=self.trainer, out=self.out, **fields))

    def _result(self, stopped):
        if stopped == "completed":
            self._write_plots()
            self._write_gif()
        return TrainResult(self.trainer.generator, self.trainer.discriminator, self.trainer, self.config,
                           self.history, self.eval_history, self.epoch, self.step, stopped, self.out,
                           self.checkpoint_path)


def _csv_row(row, columns):
    return [f"{row[c]:.7g}" if isinstance(row[c], float) else row[c] for c in columns]


def _table(rows, columns):
    return numpy.array([[float(r[c]) for c in columns] for r in rows], dtype=numpy.float64).reshape(-1, len(columns))


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


def fit(model="mlp", callback=None, **fields):
    """``train(TrainConfig(model=model, **fields), callback)``, for interactive use."""
    return train(TrainConfig(model=model, **fields), callback)
