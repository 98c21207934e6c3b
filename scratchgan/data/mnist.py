"""MNIST: read the idx files, check them, scale them, and serve shuffled batches.

The four idx files ship inside the package so that everything works offline. The idx format is
tiny: a 4-byte magic number (two zero bytes, a type code 0x08 for uint8, the number of
dimensions), one big-endian uint32 per dimension, then the raw bytes in C order. Every way a
file can be wrong (corrupt, truncated, the wrong kind) gets a one-line DataError that names the
file, because a GAN trained on garbage fails slowly and silently.
"""
import gzip
import hashlib
import zlib
from pathlib import Path

import numpy

from scratchgan import backend as B

PACKAGED_DIR = Path(__file__).resolve().parent / "files" / "mnist"
CHECKSUMS = "SHA256SUMS"
SPLITS = {"train": "train", "test": "t10k"}  # split name -> file name prefix
MAGIC = {"images": 0x00000803, "labels": 0x00000801}  # uint8 data, 3 and 1 dimensions
IMAGE_SIZE = 28

_cache = {}  # (folder, split) -> (images, labels); parsing 60k images takes a noticeable moment


class DataError(Exception):
    """A data file is missing, corrupt or not what it claims to be."""


def candidate_names(split, kind):
    """The file names accepted for one split and kind, preferred first.

    LeCun's site spells them ``train-images-idx3-ubyte.gz``; some mirrors unpack them or write
    ``train-images.idx3-ubyte``.
    """
    prefix, ndim = SPLITS[split], 3 if kind == "images" else 1
    stems = [f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte"]
    return [stem + ext for stem in stems for ext in (".gz", "")]


def find_file(folder, split, kind):
    """The first accepted file name present in ``folder``."""
    names = candidate_names(split, kind)
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: no MNIST {split} {kind} file; expected one of: {', '.join(names)}")


def read_checksums(folder):
    """``{file name: sha256 hex}`` from ``folder/SHA256SUMS``, or None when the folder has none."""
    path = folder / CHECKSUMS
    if not path.is_file():
        return None
    sums = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"{path}: line {number} is not '<sha256>  <file name>'")
        sums[parts[1].lstrip("*")] = parts[0].lower()  # '*' marks binary mode in sha256sum output
    return sums


def verify_checksum(path, sums):
    """Refuse a file whose SHA-256 differs from the one recorded next to it."""
    if path.name not in sums:
        raise DataError(f"{path}: not listed in {CHECKSUMS}; add its SHA-256 there, "
                        f"or remove {CHECKSUMS} to skip verification")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sums[path.name]:
        raise DataError(f"{path}: SHA-256 mismatch, the file is corrupt; "
                        f"expected {sums[path.name]}")


def read_bytes(path):
    """The file's content, gunzipped when its name ends in .gz."""
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: not a valid gzip file ({e})") from None


def parse_idx(raw, kind, path):
    """A read-only uint8 array from the bytes of an idx file, after checking its header."""
    if len(raw) < 4:
        raise DataError(f"{path}: {len(raw)} bytes, too short for an idx header")
    magic = int.from_bytes(raw[:4], "big")
    if magic != MAGIC[kind]:
        raise DataError(f"{path}: magic number 0x{magic:08x}, expected 0x{MAGIC[kind]:08x} "
                        f"(idx {kind} file of uint8)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header; expected {header} bytes, found {len(raw)}")
    shape = tuple(int(d) for d in numpy.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(numpy.prod(shape))
    if len(raw) - header != expected:
        raise DataError(f"{path}: header gives shape {shape}, i.e. {expected} data bytes, "
                        f"but the file holds {len(raw) - header}; is it truncated?")
    return numpy.frombuffer(raw, numpy.uint8, offset=header).reshape(shape)


def read_split(folder, split):
    """Find, verify, parse and cross-check the images and labels of one split."""
    sums = read_checksums(folder)
    arrays = {}
    for kind in ("images", "labels"):
        path = find_file(folder, split, kind)
        if sums is not None:
            verify_checksum(path, sums)
        arrays[kind] = (path, parse_idx(read_bytes(path), kind, path))
    (image_path, images), (label_path, labels) = arrays["images"], arrays["labels"]
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{image_path}: images are {images.shape[1]}x{images.shape[2]}, "
                        f"expected {IMAGE_SIZE}x{IMAGE_SIZE}")
    if len(images) != len(labels):
        raise DataError(f"{image_path} holds {len(images)} images but {label_path} holds "
                        f"{len(labels)} labels; expected the same count")
    if len(labels) and labels.max() > 9:
        raise DataError(f"{label_path}: label {labels.max()} found, expected digits 0..9")
    return images, labels


def load_mnist(split="train", data_dir=None, limit=None):
    """MNIST as ``(images, labels)``: uint8 arrays shaped (N, 28, 28) and (N,).

    ``data_dir`` None reads the files shipped with the package. Any folder holding a SHA256SUMS
    file is checksum-verified; other folders get the format checks only. Parsed arrays are kept
    for the rest of the process and returned read-only, so one caller cannot spoil another's.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    folder = PACKAGED_DIR if data_dir is None else Path(data_dir).expanduser().resolve()
    if not folder.is_dir():
        names = candidate_names(split, "images")[0], candidate_names(split, "labels")[0]
        raise DataError(f"{folder}: no such folder; expected a folder holding {names[0]} "
                        f"and {names[1]}")
    key = (str(folder), split)
    if key not in _cache:
        _cache[key] = read_split(folder, split)
    images, labels = _cache[key]
    return images[:limit], labels[:limit]


def to_tanh_range(images):
    """uint8 pixels (N, 28, 28) -> float32 (N, 1, 28, 28) in [-1, 1], the range of tanh.

    Scaled in place in float32, so 60k images never pass through a float64 copy; 0 maps to
    exactly -1 and 255 to exactly 1.
    """
    images = numpy.asarray(images)
    if images.dtype != numpy.uint8:
        raise TypeError(f"expected uint8 pixels, got {images.dtype}")
    out = images.reshape(len(images), 1, *images.shape[1:]).astype(numpy.float32)
    out /= numpy.float32(127.5)
    out -= numpy.float32(1)
    return out


def mnist_dataset(data_dir=None, split="train", limit=None):
    """Training-ready MNIST: float32 images (N, 1, 28, 28) in [-1, 1] and uint8 labels (N,)."""
    images, labels = load_mnist(split, data_dir, limit)
    return to_tanh_range(images), labels


class BatchIterator:
    """Shuffled minibatches of a dataset that lives on the backend.

    The images move to the device once; each epoch only a permutation of indices is sent over,
    and batches are gathered on the device. The order comes from a seeded host NumPy generator
    whatever the backend, so a run on CuPy shuffles exactly like one on NumPy, and saving
    ``state_dict()`` between epochs lets a resumed run continue with the same orders.

    ``flip=True`` mirrors each image left to right with probability 1/2 (data augmentation for
    pictures, not for digits). The coin flips of a whole epoch are drawn from the same generator
    right after its order, so a resumed epoch flips exactly the same images; without ``flip``
    nothing more is drawn and the order stream is unchanged. ``labels`` (N,) makes every batch
    an ``(images, labels)`` pair, for conditional models.
    """

    def __init__(self, images, batch_size, seed=0, drop_last=True, backend=None, flip=False,
                 labels=None):
        if images.ndim != 4:
            raise ValueError(f"expected images shaped (N, C, H, W), got {images.shape}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if drop_last and len(images) < batch_size:
            raise ValueError(f"{len(images)} images cannot fill one batch of {batch_size}")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(labels)} labels for {len(images)} images")
        self.backend = B.get_backend(backend)
        self.images = self.backend.asarray(images)
        self.labels = None if labels is None else self.backend.asarray(labels)
        self.batch_size, self.drop_last, self.flip = batch_size, drop_last, flip
        self.generator = numpy.random.default_rng(seed)

    def __len__(self):
        """Batches per epoch."""
        full, rest = divmod(len(self.images), self.batch_size)
        return full + (rest > 0 and not self.drop_last)

    def epoch_order(self):
        """Draw the next epoch's sample order on the host (this advances the generator)."""
        return self.generator.permutation(len(self.images))

    def __iter__(self):
        """One epoch of batches; the order is drawn now, when the epoch starts."""
        return self.epoch()

    def epoch(self, start=0):
        """One epoch of batches from batch number ``start`` on; the order is drawn now.

        Restoring the ``state_dict()`` taken before an epoch and calling ``epoch(start)`` resumes
        that epoch exactly where batch ``start`` begins.
        """
        order = self.epoch_order()
        flips = self.generator.random(len(order)) < 0.5 if self.flip else None
        order = self.backend.asarray(order)
        if flips is not None:
            flips = self.backend.asarray(flips)
        size = self.batch_size
        return (self.batch(order[begin:begin + size], flips, begin)
                for begin in range(start * size, len(self) * size, size))

    def batch(self, index, flips, begin):
        """The batch of samples ``index``, mirrored where ``flips[begin:]`` says so."""
        images = self.images[index]
        if flips is not None:
            mirror = flips[begin:begin + len(index)].reshape(-1, 1, 1, 1)
            images = self.backend.xp.where(mirror, images[:, :, :, ::-1], images)
        return images if self.labels is None else (images, self.labels[index])

    def state_dict(self):
        """The shuffling generator's state, from which the next epoch's order will be drawn;
        restore it with ``load_state_dict``."""
        return self.generator.bit_generator.state

    def load_state_dict(self, state):
        self.generator.bit_generator.state = state
