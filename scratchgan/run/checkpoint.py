"""Checkpoints: a whole training run in ONE .npz file, written so that a crash cannot spoil it.

Layout of the archive (plain arrays only, so ``numpy.load`` never needs pickle):

    meta                          0-d string: JSON with epoch, step, config, RNG states, ...
    module/<name>/<param name>    every parameter and buffer of each network (state_dict)
    optim/<name>/<index>/<key>    each optimizer's per-parameter state (Adam's step, m, v)
    array/<name>                  anything else (fixed noise, loss history)

The file is written to a temporary file in the same folder, flushed to disk, then renamed over
the old one (``os.replace`` is atomic), so a reader sees either the old checkpoint or the new
one, never half of one.
"""
import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy

from scratchgan.run.config import build_models, noise
from scratchgan.trainer import generate_images

FORMAT = "scratchgan-checkpoint/1"
FILENAME = "checkpoint.npz"


class CheckpointError(Exception):
    """A checkpoint is missing, unreadable, or does not fit what it is loaded into."""


def atomic_savez(path, arrays):
    """``numpy.savez(path, **arrays)`` that either fully replaces ``path`` or leaves it
    untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            numpy.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the mode any new file would get
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(path, modules, optimizers, meta, arrays=None):
    """Write modules' and optimizers' state, a JSON-able ``meta`` dict and extra arrays to ``path``.

    ``modules`` and ``optimizers`` map names ("generator", "discriminator") to objects with
    ``state_dict()``.
    """
    meta = dict(meta, format=FORMAT, optimizers={})
    out = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            out[f"module/{name}/{key}"] = value
    for name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        meta["optimizers"][name] = state["param_groups"]
        for index, entries in state["state"].items():
            for key, value in entries.items():
                out[f"optim/{name}/{index}/{key}"] = numpy.asarray(value)
    for name, value in (arrays or {}).items():
        out[f"array/{name}"] = numpy.asarray(value)
    out["meta"] = numpy.array(json.dumps(meta))
    atomic_savez(path, out)


class Checkpoint:
    """A loaded checkpoint: ``meta`` (dict), ``arrays`` (dict), and the networks' saved states."""

    def __init__(self, path, contents):
        self.path = Path(path)
        try:
            self.meta = json.loads(str(contents.pop("meta")))
        except (KeyError, ValueError) as e:
            raise CheckpointError(f"{path}: no readable metadata ({e}); not a scratchgan "
                                  "checkpoint") from None
        if self.meta.get("format") != FORMAT:
            raise CheckpointError(f"{path}: format {self.meta.get('format')!r}, "
                                  f"expected {FORMAT!r}")
        self._contents = contents
        self.arrays = self._section("array")

    def _section(self, prefix):
        prefix += "/"
        return {k[len(prefix):]: v for k, v in self._contents.items() if k.startswith(prefix)}

    def has_module(self, name):
        """Whether the checkpoint holds a network called ``name`` (e.g. "generator_ema")."""
        return bool(self._section(f"module/{name}"))

    def module_state(self, name):
        state = self._section(f"module/{name}")
        if not state:
            raise CheckpointError(f"{self.path}: holds no network called {name!r}")
        return state

    def optimizer_state(self, name):
        state = {}
        for key, value in self._section(f"optim/{name}").items():
            index, entry = key.split("/", 1)
            state.setdefault(int(index), {})[entry] = value
        return {"state": state, "param_groups": self.meta["optimizers"][name]}

    def load_into(self, modules, optimizers=None):
        """Copy the saved states into existing networks and optimizers, checking that they fit."""
        for name, module in modules.items():
            try:
                module.load_state_dict(self.module_state(name))
            except (KeyError, ValueError) as e:
                raise CheckpointError(f"{self.path}: the saved {name} does not fit this model: "
                                      f"{e}") from None
        for name, optimizer in (optimizers or {}).items():
            try:
                optimizer.load_state_dict(self.optimizer_state(name))
            except (KeyError, ValueError) as e:
                raise CheckpointError(f"{self.path}: the saved {name} optimizer does not fit: "
                                      f"{e}") from None


def load_checkpoint(path):
    """Read a checkpoint written by ``save_checkpoint``; CheckpointError if it is missing or
    broken."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with numpy.load(path, allow_pickle=False) as archive:
            contents = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        # NumPy's own messages (e.g. about pickled data for a file that is no archive) mislead here.
        raise CheckpointError(f"{path}: not a readable checkpoint (expected the .npz archive that "
                              "scratchgan mnist writes; the file is truncated or something else)"
                              ) from None
    return Checkpoint(path, contents)


def load_generator(path, backend="numpy", raw=False):
    """(generator, config dict) from a training checkpoint, on ``backend``, in eval mode: the
    moving average of G's weights when the run kept one (``--ema``), else (or with ``raw``) G."""
    checkpoint = load_checkpoint(path)
    config = checkpoint.meta.get("config", {})
    try:
        generator, _ = build_models(config["model"], config["latent_dim"],
                                    config.get("model_options"))
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: its config does not describe a known model ({e})") from None
    averaged = not raw and checkpoint.has_module("generator_ema")
    checkpoint.load_into({"generator_ema" if averaged else "generator": generator})
    return generator.to(backend).eval(), config


def class_labels(config, n, label=None):
    """The labels (n,) a conditional checkpoint's samples are drawn with: every class in turn,
    or only ``label`` (a class index, or a class name such as "7" or "smiley"). None for an
    unconditional model, which takes no label."""
    names = config.get("class_names")
    if not config.get("conditional") or not names:
        if label is not None:
            raise CheckpointError(f"--label {label}: the checkpoint's {config.get('model')} model "
                                  "is not conditional; it draws no requested class")
        return None
    if label is None:
        return numpy.arange(n) % len(names)
    label = str(label)
    if label in names:
        index = names.index(label)
    elif label.isdigit() and int(label) < len(names):
        index = int(label)
    else:
        raise CheckpointError(f"--label {label}: the model has no such class; its classes are "
                              f"{', '.join(names)}")
    return numpy.full(n, index)


def sample_images(path, n, seed=0, backend="numpy", label=None, raw=False):
    """n samples (N, C, H, W), float32 in [-1, 1], from the generator saved at ``path``; for a
    conditional model, of class ``label`` (index or name), else every class in turn. The moving
    average of G draws them when the checkpoint holds one, unless ``raw``.

    The latents depend on ``seed`` only, so the same seed and n give the same digits whichever
    command draws them (sample, evaluate).
    """
    generator, config = load_generator(path, backend, raw)
    labels = class_labels(config, n, label)
    return generate_images(generator, noise(n, int(config["latent_dim"]), seed), labels=labels)
