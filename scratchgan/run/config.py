"""What a run is asked to do: ``TrainConfig`` and its defaults, and the networks and noise it
implies."""
import dataclasses
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from scratchgan import backend as B
from scratchgan import models
from scratchgan.data import check_image_size
from scratchgan.losses import LOSSES

# The per-model training defaults, in one place (the DCGAN paper's Adam settings, but five times
# the learning rate for the dcgan, whose batch norm in both networks takes it: README, "Time and
# quality"; a loss with settings of its own, WGAN-GP's, replaces them: scratchgan.losses). ema:
# the decay of the moving average of G's weights that grids and samples come from, 0: none
# (trainer.MovingAverage).
MODEL_DEFAULTS = {
    "mlp": dict(batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, epochs=20,
                ema=0.999),
    "dcgan": dict(batch_size=64, lr_g=1e-3, lr_d=1e-3, beta1=0.5, beta2=0.999, epochs=6,
                  ema=0.999),
    "cgan": dict(batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, epochs=20,
                 ema=0.0),
    "image-dcgan": dict(batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, epochs=300,
                        ema=0.0),
}
DATASET_MODELS = {"mnist": ("mlp", "dcgan", "cgan"), "images": ("image-dcgan",)}
CONDITIONAL_MODELS = ("cgan",)  # an images run is conditional with --conditional
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
IMAGE_DEFAULTS = dict(image_size=32, channels=3, width=64)
# What a new MNIST run builds, where it differs from models.build's defaults (the papers' own
# networks, which older checkpoints hold): chosen by sample quality per minute on 2 cores (README,
# "Time and quality"). G's batch norm: the MLP's Fréchet distance after 5 minutes falls
# by a half or more; the DCGAN at width 32 (the tutorial's channels halved) without D's dropout
# does 3x the steps, and learns faster per step than with the dropout; batch norm in D (the DCGAN
# paper's) nearly halves its distance after 2,500 steps, and lets it learn at Adam 1e-3; a third
# convolution in D (down to 4x4, as the paper's D) halves it again at the same steps.
RUN_MODEL_OPTIONS = {"mlp": dict(g_batch_norm=True),
                     "dcgan": dict(width=32, dropout=0.0, d_batch_norm=True, d_convs=3)}
DEFAULT_LATENT_DIM, DEFAULT_SEED, DEFAULT_LOSS = 100, 0, "bce"
# Fields that shape the networks or the random streams: a resumed run must keep them.
ARCHITECTURE_FIELDS = ("model", "latent_dim", "model_options", "seed", "dataset", "loss",
                       "image_size", "channels", "width", "conditional", "ema")
# What a checkpoint from before a field existed meant by it.
FIELD_DEFAULTS = {"loss": DEFAULT_LOSS, "dataset": "mnist", "conditional": False, "ema": 0.0}


class ConfigError(ValueError):
    """The run was asked for something it cannot do (bad option, wrong checkpoint, unwritable
    folder)."""


@dataclass
class TrainConfig:
    """Everything a run needs. ``None`` means: the checkpoint's value when resuming, else the
    default."""
    model: str | None = None          # "mlp" or "dcgan" on MNIST; "image-dcgan" on images
    dataset: str = "mnist"            # "mnist", or "images": a folder, or the shipped faces
    loss: str | None = None           # "bce" (default), "wgan-gp", "hinge" or "lsgan"
    n_critic: int | None = None       # D steps per G step (default: the loss's, 5 for wgan-gp)
    image_size: int | None = None     # images: a power of two (default 32)
    channels: int | None = None       # images: 3 (colour, default) or 1 (grey)
    width: int | None = None          # the DCGAN's narrowest layer (images 64, MNIST dcgan 32)
    g_norm: str | None = None         # MNIST mlp, cgan: "batch" or "none" between G's layers
    d_norm: str | None = None         # MNIST dcgan: "batch" or "none" after D's convs but 1st
    d_dropout: float | None = None    # MNIST: dropout after D's hidden layers
    d_convs: int | None = None        # MNIST dcgan: D's stride-2 convolutions, 2 or 3
    flip: bool = False                # images: flip a random half of each batch left to right
    conditional: bool | None = None   # images: G and D told the class (subfolder); cgan: always
    class_names: list | None = None   # conditional: the classes, in label order (set by the run)
    ema: float | None = None          # decay of the moving average of G's weights; 0: none
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
    data: str | None = None           # a folder of MNIST idx files or of images; None: shipped
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


def check_model(name, dataset="mnist"):
    if dataset not in DATASET_MODELS:
        raise ConfigError(f"unknown dataset {dataset!r}: expected one of "
                          f"{', '.join(DATASET_MODELS)}")
    if name not in DATASET_MODELS[dataset]:
        raise ConfigError(f"unknown model {name!r} for {dataset}: expected one of "
                          f"{', '.join(DATASET_MODELS[dataset])}")


def default_model(config):
    return config.model or DATASET_MODELS[config.dataset][0]


def default_out(config):
    return Path(config.out or Path("runs") / default_model(config))


def resolve_config(config, saved=None):
    """A copy of ``config`` with every None filled: from the checkpoint's config ``saved``, else
    the defaults."""
    c = dataclasses.replace(config)
    if saved is not None:
        c.dataset = saved.get("dataset", "mnist")
    c.model = c.model or (saved or {}).get("model") or default_model(c)
    check_model(c.model, c.dataset)
    c.model_options = {**c.model_options, **_flag_options(c)}
    if saved is not None:
        for name in ARCHITECTURE_FIELDS:
            # checkpoints from before --loss and images were all BCE on MNIST
            given = getattr(config, name)
            kept = saved.get(name, FIELD_DEFAULTS.get(name))
            if name == "model_options":
                _check_resumed_options(c.model, json_roundtrip(c.model_options), kept or {})
                given = None
            if given is not None and given != kept:
                raise ConfigError(f"--resume: the checkpoint's {name} is {kept!r}, not {given!r}; "
                                  "choose another --out to start a new run")
            setattr(c, name, kept)
        for name in (*MODEL_DEFAULTS[c.model], "data", "limit", "n_critic", "flip",
                     "class_names"):
            if getattr(c, name) is None:
                setattr(c, name, saved.get(name))
    c.loss = c.loss or DEFAULT_LOSS
    if c.loss not in LOSSES:
        raise ConfigError(f"unknown loss {c.loss!r}: expected one of {', '.join(LOSSES)}")
    loss = LOSSES[c.loss]
    optimizer = dict(lr_g=loss.optimizer["lr"], lr_d=loss.optimizer["lr"],
                     beta1=loss.optimizer["betas"][0], beta2=loss.optimizer["betas"][1])
    for name, value in MODEL_DEFAULTS[c.model].items():
        if getattr(c, name) is None:
            setattr(c, name, optimizer.get(name, value) if c.loss != DEFAULT_LOSS else value)
    c.n_critic = loss.n_critic if c.n_critic is None else c.n_critic
    c.latent_dim = DEFAULT_LATENT_DIM if c.latent_dim is None else c.latent_dim
    c.seed = DEFAULT_SEED if c.seed is None else c.seed
    if c.model in CONDITIONAL_MODELS:
        if c.conditional is False:
            raise ConfigError(f"{c.model} is always conditional, not conditional=False")
        c.conditional, c.class_names = True, list(MNIST_CLASSES)
    elif c.conditional and c.dataset == "mnist":
        raise ConfigError(f"--conditional: {c.model} draws any digit; the conditional MNIST "
                          "model is --model cgan")
    c.conditional = bool(c.conditional)
    if c.dataset == "images":
        for name, value in IMAGE_DEFAULTS.items():
            setattr(c, name, value if getattr(c, name) is None else getattr(c, name))
        if saved is None:
            c.model_options = dict(size=c.image_size, channels=c.channels, width=c.width,
                                   d_norm=None if c.loss == "wgan-gp" else "batch",
                                   **c.model_options)
    elif saved is None:
        c.model_options = _mnist_options(c)
    c.out = str(default_out(c))
    _check_ranges(c)
    return c


def _flag_options(c):
    """The builder keywords of the MNIST network flags --g-norm, --d-norm, --d-dropout and
    --d-convs."""
    options = {}
    for flag, value, models_with_it, key, net in (
            ("g_norm", c.g_norm, ("mlp", "cgan"), "g_batch_norm", "generator"),
            ("d_norm", c.d_norm, ("dcgan",), "d_batch_norm", "discriminator")):
        if value is None:
            continue
        if value not in ("batch", "none"):
            raise ConfigError(f"{flag} must be 'batch' or 'none', got {value!r}")
        if c.model not in models_with_it:
            raise ConfigError(f"--{_flag(flag)}: the {c.model} {net}'s normalisation is fixed")
        options[key] = value == "batch"
    if c.d_dropout is not None:
        if c.dataset != "mnist":
            raise ConfigError(f"--d-dropout: the {c.model} discriminator has no dropout")
        if not 0 <= c.d_dropout < 1:
            raise ConfigError(f"d_dropout must be in [0, 1), got {c.d_dropout}")
        options["dropout" if c.model == "dcgan" else "d_dropout"] = c.d_dropout
    if c.d_convs is not None:
        if c.model != "dcgan":
            raise ConfigError(f"--d-convs: the {c.model} discriminator has no convolutions")
        if c.d_convs not in (2, 3):
            raise ConfigError(f"d_convs must be 2 (28 -> 7) or 3 (28 -> 4), got {c.d_convs}")
        options["d_convs"] = c.d_convs
    return options


def _mnist_options(c):
    """A new MNIST run's builder keywords: the run's defaults, then --width, then the caller's."""
    options = dict(RUN_MODEL_OPTIONS.get(c.model, {}))
    if {"g_channels", "d_channels"} & set(c.model_options):
        # channels given one by one replace the default width and depth
        options.pop("width", None), options.pop("d_convs", None)
    if c.width is not None:
        if c.model != "dcgan":
            raise ConfigError(f"--width sets the dcgan's channels; {c.model}'s layers have "
                              "fixed sizes")
        if c.width < 1:
            raise ConfigError(f"width must be at least 1, got {c.width}")
        options["width"] = c.width
    if c.model == "dcgan" and c.loss == "wgan-gp":
        # the gradient penalty is taken per sample; batch norm would mix a critic's samples
        if c.model_options.get("d_batch_norm"):
            raise ConfigError("--d-norm batch: the wgan-gp critic has no batch norm (its "
                              "gradient penalty is taken per sample)")
        options["d_batch_norm"] = False
    options.update(c.model_options)
    c.width = options.get("width") if c.model == "dcgan" else None
    return options


def _check_resumed_options(model, given, saved):
    """Builder keywords asked for on --resume must be what the checkpoint was built with (a key
    it lacks was the builder's default then)."""
    builder = models.mlp.build if model in CONDITIONAL_MODELS else models.BUILDERS[model]
    defaults = {k: p.default for k, p in inspect.signature(builder).parameters.items()}
    for key, value in given.items():
        kept = saved.get(key, json_roundtrip(defaults.get(key)))
        if value != kept:
            raise ConfigError(f"--resume: the checkpoint's {key} is {kept!r}, not {value!r}; "
                              "choose another --out to start a new run")


def _check_ranges(c):
    for name in ("epochs", "batch_size", "latent_dim", "log_every", "eval_samples", "n_critic"):
        if getattr(c, name) < 1:
            raise ConfigError(f"{_flag(name)} must be at least 1, got {getattr(c, name)}")
    for name in ("minutes", "max_steps", "eval_every", "limit", "lr_g", "lr_d"):
        if getattr(c, name) is not None and getattr(c, name) <= 0:
            raise ConfigError(f"{_flag(name)} must be positive, got {getattr(c, name)}")
    for name in ("beta1", "beta2", "ema"):
        if not 0 <= getattr(c, name) < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {getattr(c, name)}")
    if c.dataset == "images":
        try:
            check_image_size(c.image_size)
        except ValueError as e:
            raise ConfigError(f"--image-size: {e}") from None
        if c.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 (grey) or 3 (colour), got {c.channels}")
        if c.width < 1:
            raise ConfigError(f"width must be at least 1, got {c.width}")


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
