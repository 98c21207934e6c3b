"""What a run is asked to do: ``TrainConfig`` and its defaults, and the networks and noise it
implies."""
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from scratchgan import backend as B
from scratchgan import models

# The per-model training defaults, in one place (the DCGAN paper's Adam settings for both).
MODEL_DEFAULTS = {
    "mlp": dict(batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, epochs=20),
    "dcgan": dict(batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, epochs=5),
}
DEFAULT_MODEL, DEFAULT_LATENT_DIM, DEFAULT_SEED = "mlp", 100, 0
# Fields that shape the networks or the random streams: a resumed run must keep them.
ARCHITECTURE_FIELDS = ("model", "latent_dim", "model_options", "seed")


class ConfigError(ValueError):
    """The run was asked for something it cannot do (bad option, wrong checkpoint, unwritable
    folder)."""


@dataclass
class TrainConfig:
    """Everything a run needs. ``None`` means: the checkpoint's value when resuming, else the
    default."""
    model: str | None = None          # "mlp" or "dcgan"
    epochs: int | None = None         # total epochs, counting those of a resumed run
    minutes: float | None = None      # wall-clock budget of this invocation, then stop and save
    batch_size: int | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    latent_dim: int | None = None
    seed: int | None = None
    out: str | None = None            # default runs/<model>
    resume: bool = False
    data: str | None = None           # MNIST folder; None: the files shipped with the package
    max_steps: int | None = None      # total optimisation steps, counting those of a resumed run
    backend: str = "numpy"
    show: bool = False                # live matplotlib window, when a display exists
    eval_every: int | None = None     # epochs between sample-quality evaluations
    log_every: int = 10               # steps between rows of metrics.csv
    limit: int | None = None          # train on the first `limit` images only
    model_options: dict = field(default_factory=dict)  # builder keywords, e.g. widths
    overwrite: bool = False           # start afresh in an `out` that holds a checkpoint
    eval_samples: int = 5000
    progress: bool = True             # tqdm bars


def check_model(name):
    if name not in models.NAMES:
        raise ConfigError(f"unknown model {name!r}: expected one of {', '.join(models.NAMES)}")


def default_out(config):
    return Path(config.out or Path("runs") / (config.model or DEFAULT_MODEL))


def resolve_config(config, saved=None):
    """A copy of ``config`` with every None filled: from the checkpoint's config ``saved``, else
    the defaults."""
    c = dataclasses.replace(config)
    model = c.model or (saved or {}).get("model") or DEFAULT_MODEL
    check_model(model)
    c.model = model
    if saved is not None:
        for name in ARCHITECTURE_FIELDS:
            given, kept = getattr(config, name), saved[name]
            if name == "model_options":
                given = json_roundtrip(given) if given else None
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
    c.out = str(default_out(c))
    _check_ranges(c)
    return c


def _check_ranges(c):
    for name in ("epochs", "batch_size", "latent_dim", "log_every", "eval_samples"):
        if getattr(c, name) < 1:
            raise ConfigError(f"{_flag(name)} must be at least 1, got {getattr(c, name)}")
    for name in ("minutes", "max_steps", "eval_every", "limit", "lr_g", "lr_d"):
        if getattr(c, name) is not None and getattr(c, name) <= 0:
            raise ConfigError(f"{_flag(name)} must be positive, got {getattr(c, name)}")
    for name in ("beta1", "beta2"):
        if not 0 <= getattr(c, name) < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {getattr(c, name)}")


def _flag(name):
    return name.replace("_", "-")


def json_roundtrip(value):
    """``value`` as a checkpoint gives it back (tuples become lists), so the two compare equal."""
    return json.loads(json.dumps(value))


def build_models(model, latent_dim=100, options=None, seed=None):
    """(G, D) built on the host NumPy backend whatever backend is active; move them with
    ``.to(backend)``.

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


def noise(n, latent_dim, seed):
    """n standard normal latents (n, latent_dim), host float32, drawn from ``seed`` alone.

    ``seed`` is anything ``numpy.random.default_rng`` takes, e.g. [seed, epoch]. A latent batch
    that depends on its seed only is the same on every backend and after every resume.
    """
    return numpy.random.default_rng(seed).standard_normal((n, latent_dim), dtype=numpy.float32)
