"""The MNIST classifier whose features and predictions every sample metric is computed from.

A small strided CNN built from scratchgan layers and trained by scratchgan itself
(scripts/train_classifier.py); its weights ship as ``mnist_classifier.npz`` next to this file.
Inputs are images (N, 1, 28, 28) in [-1, 1], the range the generators produce.
"""
import functools
import json
from pathlib import Path

import numpy

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn
from scratchgan.tensor import Tensor, no_grad

WEIGHTS_PATH = Path(__file__).resolve().parent / "mnist_classifier.npz"
META_KEY = "_meta"  # a JSON string stored next to the state_dict: accuracy, training settings
FEATURE_DIM = 128
INFERENCE_BATCH = 500


class MnistClassifier(nn.Module):
    """conv 1->32 (k5 s2) -> conv 32->64 (k5 s2) -> linear 3136->128 -> linear 128->10.

    Strided convolutions instead of pooling, LeakyReLU so that no feature unit dies (a dead unit
    would make the feature covariance singular). ``features`` is the 128-unit penultimate layer.
    """

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 5, stride=2, padding=2), nn.LeakyReLU(0.1),   # 28 -> 14
            nn.Conv2d(32, 64, 5, stride=2, padding=2), nn.LeakyReLU(0.1),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.LeakyReLU(0.1),
        )
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


def save_weights(model, path=WEIGHTS_PATH, **meta):
    """The state_dict as float32 in a compressed .npz, with ``meta`` as a JSON string."""
    state = {k: v.astype(numpy.float32) if v.dtype.kind == "f" else v
             for k, v in model.state_dict().items()}
    numpy.savez_compressed(path, **state, **{META_KEY: numpy.array(json.dumps(meta))})


def read_weights(path=WEIGHTS_PATH):
    """(state_dict, meta) from a file written by ``save_weights``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no classifier weights; run scripts/train_classifier.py")
    with numpy.load(path, allow_pickle=False) as f:
        state = {k: f[k] for k in f.files if k != META_KEY}
        meta = json.loads(str(f[META_KEY])) if META_KEY in f.files else {}
    return state, meta


@functools.lru_cache(maxsize=None)
def _load(backend_name, path):
    # Building draws initial weights, overwritten at once by the saved ones. Those draws must not
    # move the caller's random stream: a run that evaluates its samples would otherwise draw
    # other noise than the same run resumed from a checkpoint.
    with B.fork_rng():
        model = MnistClassifier()  # built on the active backend, then moved where asked for
    model.load_state_dict(read_weights(path)[0])
    return model.to(backend_name).eval()


def load_classifier(path=None, backend=None):
    """The trained classifier in eval mode, loaded once per backend and weights file."""
    return _load(B.get_backend(backend).name, str(path or WEIGHTS_PATH))


def _run(images, fn, batch_size, backend):
    """Apply ``fn(model, batch)`` to host images in batches; stack the host results."""
    images = numpy.asarray(images, dtype=numpy.float32)
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"MNIST classifier: expected images (N, 1, 28, 28), got {images.shape}")
    model = load_classifier(backend=backend)
    owner = B.get_backend(backend)
    outs = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            batch = Tensor(owner.asarray(images[start:start + batch_size]))
            outs.append(B.to_numpy(fn(model, batch).array))
    return numpy.concatenate(outs) if outs else numpy.zeros((0, 0), numpy.float32)


def features(images, batch_size=INFERENCE_BATCH, backend=None):
    """Penultimate-layer activations (N, 128), float32 on the host, of images in [-1, 1]."""
    return _run(images, lambda m, x: m.features(x), batch_size, backend)


def predict_proba(images, batch_size=INFERENCE_BATCH, backend=None):
    """Class probabilities p(y|x), (N, 10) float32 on the host."""
    return _run(images, lambda m, x: F.softmax(m(x), 1), batch_size, backend)


def features_and_proba(images, batch_size=INFERENCE_BATCH, backend=None):
    """Both in one pass through the network: ((N, 128), (N, 10))."""
    both = _run(images, lambda m, x: _features_and_proba(m, x), batch_size, backend)
    return both[:, :FEATURE_DIM], both[:, FEATURE_DIM:]


def _features_and_proba(model, x):
    h = model.features(x)
    return F.concat([h, F.softmax(model.head(h), 1)], 1)
