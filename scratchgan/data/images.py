"""Image folders: decode any folder of pictures once, cache it as uint8, serve it as [-1, 1].

``load_image_folder(folder)`` searches the folder recursively for PNG, JPEG, BMP, GIF (first
frame) and WebP files (any case of the extension; names starting with "." are ignored, as are
hidden folders) and reads them with Pillow. Every image becomes the same square picture:

- Orientation: an EXIF orientation tag (photographs from cameras and phones) is applied.
- Mode: palette, greyscale, 1-bit, CMYK and 16-bit images become 8-bit RGB; an alpha channel or a
  transparent colour is composited on ``background`` (white by default), since the generator has
  no alpha to learn. ``channels=1`` then converts RGB to grey with Pillow's ITU-R 601-2 luma.
- Geometry: the largest centred square is cropped (a few rows or columns go on each side of a
  non-square image), then resized to ``image_size`` with Pillow's LANCZOS filter. Downscaling
  photographs by 4x or more is the common case, and LANCZOS is Pillow's best low-pass filter
  for it: it keeps edges sharp without the aliasing (moire, jagged lines) that a GAN would
  otherwise learn to copy. ``reducing_gap=3`` lets Pillow first shrink large images by an integer
  factor, which Pillow documents as indistinguishable from a plain LANCZOS resize, and JPEGs
  are decoded straight at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling) while the result stays
  at least twice ``image_size``.
- Size: a power of two from 16 on (16, 32, 64, 128, ...), because the convolutional models
  halve and double their feature maps from 4x4.

``ImageSet.images`` is uint8 shaped (N, H, W, C), the layout of Pillow and matplotlib;
``ImageSet.to_tanh_range()`` gives the trainer's float32 (N, C, H, W) in [-1, 1].

Labels come from the first-level subfolder an image lies in: ``class_names`` are those names
sorted, and images directly in the folder itself form the class "" (which sorts first). Only
classes that hold at least one readable image are listed, so every class has examples.

Unreadable files (corrupt, truncated, not really images) are counted and skipped; one
``DataWarning`` names the first few. A folder with no image files, or none readable, is a
one-line ``DataError``.

The cache: decoding is slow (see the rate below), so the decoded array is written once, as a
uint8 ``.npy`` file, and memory-mapped on later loads: a 50,000-image folder is decoded once,
not every run, and does not have to fit in memory. The cache folder is ``cache_dir``, else
``$SCRATCHGAN_CACHE``, else ``$XDG_CACHE_HOME/scratchgan``, else ``~/.cache/scratchgan``; the
files lie in its ``images/`` subfolder. An entry's name is a hash of the folder's path, its
sorted image file list with each file's size and modification time, ``image_size``,
``channels``, ``background`` and the cache format, so adding, removing, editing or touching
a file decodes the folder afresh (and deletes the entry it replaces). Files are written to
a temporary name and renamed, so an interrupted run never leaves half an entry. When the cache
folder cannot be written, the images are decoded into memory with a warning.

Decode rate, measured on the development machine (2 cores, of which the decoder got about one;
64x64 RGB output; synthetic photographs with noise, which compress worse than real ones):
about 390 images/s from 640x480 JPEGs, 240/s from 1024x768 JPEGs, 165/s from 512x512 PNGs and
1,700/s from 128x96 JPEGs (half to two thirds of that while other jobs ran). So 50,000
photographs take a few minutes, once: a cached load of 10,000 files took 0.11 s, most of it
listing and stat-ing the files for the key. Pillow releases the GIL while it decodes and
resizes, so the decoding threads (``workers``) can use more cores where there are some.
"""
import hashlib
import json
import os
import re
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from scratchgan.data.mnist import DataError

EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
FILTER = Image.Resampling.LANCZOS
REDUCING_GAP = 3.0
BACKGROUND = (255, 255, 255)
CACHE_VERSION = 1  # bump when the decoding changes, so that old entries are not reused
NAMED_SKIPS = 3  # how many skipped files a warning names
SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
PROGRESS_FROM = 500  # folders this large show a progress bar (on a terminal)


class DataWarning(UserWarning):
    """Files of a dataset were skipped; the message is one line, fit for a command line."""


@dataclass(frozen=True)
class ImageSet:
    """Decoded images, all the same size, and what is known about them.

    images: uint8 (N, H, W, C), read-only; memory-mapped when it comes from the cache.
    labels: int64 (N,), indices into ``class_names``.
    class_names: tuple of str, sorted.
    names: tuple of str, one per image (path relative to the folder, or the emoji's name).
    skipped: ((name, reason), ...) for every file that could not be read.
    source: the folder (or dataset) the images came from.
    cache_path: the cached .npy file, or None when not cached.
    decoded: how many images this load decoded (0 when served from the cache).
    decode_seconds: how long decoding took, whenever it happened.
    """

    images: numpy.ndarray
    labels: numpy.ndarray
    class_names: tuple
    names: tuple
    skipped: tuple = ()
    source: str = ""
    cache_path: Path | None = None
    decoded: int = 0
    decode_seconds: float = 0.0

    def __len__(self):
        return len(self.images)

    @property
    def image_size(self):
        return self.images.shape[1]

    @property
    def channels(self):
        return self.images.shape[3]

    @property
    def decode_rate(self):
        """Images per second of the decoding that built this set (None if unknown)."""
        count = len(self) + len(self.skipped)
        return count / self.decode_seconds if self.decode_seconds > 0 else None

    def to_tanh_range(self):
        """float32 (N, C, H, W) in [-1, 1], the trainer's layout: 0 -> -1 and 255 -> 1 exactly.

        The uint8 pixels are cast straight into the float32 result, so no float64 copy of a big
        dataset is ever made.
        """
        n, h, w, c = self.images.shape
        out = numpy.empty((n, c, h, w), numpy.float32)
        out[...] = self.images.transpose(0, 3, 1, 2)
        out /= numpy.float32(127.5)
        out -= numpy.float32(1)
        return out


def check_image_size(image_size):
    """Refuse a size the models cannot build: a power of two from 16 on."""
    if isinstance(image_size, bool) or not isinstance(image_size, (int, numpy.integer)) \
            or image_size < 16 or image_size & (image_size - 1):
        raise ValueError(f"image size must be a power of two from 16 on (16, 32, 64, 128, ...), "
                         f"got {image_size!r}")
    return int(image_size)


def check_options(image_size, channels, background):
    """The validated (image_size, channels, background) of a load."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    background = tuple(int(v) for v in background)
    if len(background) != 3 or not all(0 <= v <= 255 for v in background):
        raise ValueError(f"background must be an (R, G, B) triple of 0..255, got {background}")
    return check_image_size(image_size), channels, background


# -- one image --

def to_8bit(im):
    """16-bit and 32-bit greyscale as 8-bit "L": Pillow's own conversion clips instead of scaling.

    Mode "I" and "F" hold 16-bit data when they come from PNG or TIFF, and 8-bit data otherwise:
    values above 255 tell them apart.
    """
    a = numpy.asarray(im, dtype=numpy.float64)
    if im.mode.startswith("I;16") or (a.size and a.max() > 255):
        a = a / 257
    return Image.fromarray(numpy.clip(numpy.rint(a), 0, 255).astype(numpy.uint8), "L")


def normalise_mode(im):
    """The image as "L", "RGB" or "RGBA": resizing a palette or 1-bit image would fall back to
    nearest-neighbour, and transparency must become a real alpha channel before compositing."""
    if im.mode in SIXTEEN_BIT:
        im = to_8bit(im)
    transparent = "transparency" in im.info or im.mode in ("RGBA", "LA", "PA", "La", "RGBa")
    if transparent:
        return im if im.mode == "RGBA" and "transparency" not in im.info else im.convert("RGBA")
    if im.mode in ("L", "RGB"):
        return im
    return im.convert("L" if im.mode == "1" else "RGB")


def fit(im, image_size, channels=3, background=BACKGROUND):
    """A Pillow image as a uint8 (size, size, channels) array: centre square, LANCZOS, composited
    on ``background``, RGB or grey."""
    im = normalise_mode(im)
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    if (w, h) != (side, side):
        im = im.crop((left, top, left + side, top + side))
    if side != image_size:
        im = im.resize((image_size, image_size), FILTER, reducing_gap=REDUCING_GAP)
    return _pixels(im, channels, background)


def _pixels(im, channels, background):
    """A normalised image (normalise_mode) as uint8 (H, W, channels), alpha composited on
    ``background``."""
    if im.mode == "RGBA":
        im = Image.alpha_composite(Image.new("RGBA", im.size, (*background, 255)), im)
    im = im.convert("RGB" if channels == 3 else "L")
    return numpy.asarray(im).reshape(im.size[1], im.size[0], channels)


def decode(path, image_size, channels, background):
    """``(array, None)`` for a readable image, ``(None, reason)`` for any other file."""
    try:
        with Image.open(path) as im:
            im.draft(None, (2 * image_size, 2 * image_size))  # JPEG only; a no-op for others
            im.load()  # a GIF or WebP opens on its first frame
            # cameras store pictures sideways, with an EXIF tag saying which way up they go
            return fit(ImageOps.exif_transpose(im), image_size, channels, background), None
    except UnidentifiedImageError:
        return None, "not an image Pillow can read"
    # Malformed files make Pillow's format plugins raise almost any kind of exception
    except Exception as e:
        return None, " ".join(f"{type(e).__name__}: {e}".split())[:100]


def read_image(path, channels=3, background=BACKGROUND):
    """One picture file at its own size, as uint8 (H, W, channels): grey, palette and
    transparent images converted as the folder loader converts them. DataError if unreadable."""
    try:
        with Image.open(path) as im:
            im.load()
            im = normalise_mode(ImageOps.exif_transpose(im))
    except FileNotFoundError:
        raise DataError(f"{path}: no such image file") from None
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image Pillow can read") from None
    except Exception as e:  # Pillow's plugins raise many kinds on malformed files
        raise DataError(f"{path}: unreadable image ({type(e).__name__}: {e})") from None
    return _pixels(im, channels, background)


# -- a folder --

def resolve_folder(folder):
    path = Path(folder).expanduser().resolve()
    if not path.exists():
        raise DataError(f"{path}: no such folder")
    if not path.is_dir():
        raise DataError(f"{path}: not a folder; expected a folder of images")
    return path


def find_image_files(folder):
    """``(sorted relative POSIX paths of the image files, number of files looked at)``."""
    found, looked = [], 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = Path(root).relative_to(folder)
        for name in files:
            if name.startswith("."):
                continue
            looked += 1
            if os.path.splitext(name)[1].lower() in EXTENSIONS:
                found.append((rel / name).as_posix())
    return sorted(found), looked


def class_of(name):
    """The first-level subfolder of a relative path; "" for a file in the folder itself."""
    return name.split("/", 1)[0] if "/" in name else ""


def labels_of(names):
    """``(int64 labels, sorted class names)`` from the relative paths of the loaded images."""
    classes = [class_of(n) for n in names]
    class_names = tuple(sorted(set(classes)))
    index = {c: i for i, c in enumerate(class_names)}
    return numpy.array([index[c] for c in classes], dtype=numpy.int64), class_names


def decode_all(folder, files, out, options, workers):
    """Decode every file into ``out`` (rows in file order); the list of (row, name, reason)
    of those skipped."""
    pool = ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1))
    skipped = []
    try:
        results = pool.map(lambda f: decode(folder / f, *options), files)
        bar = len(files) < PROGRESS_FROM or None  # None: a bar only on a terminal
        for row, (array, reason) in enumerate(tqdm(results, total=len(files), disable=bar,
                                                   desc="decoding images", unit="img")):
            if reason is None:
                out[row] = array
            else:
                skipped.append((row, files[row], reason))
    finally:
        pool.shutdown(cancel_futures=True)  # so that Ctrl-C does not wait for every file
    return skipped


def skip_message(source, skipped):
    """One line naming the first few skipped files."""
    named = "; ".join(f"{name} ({reason})" for name, reason in skipped[:NAMED_SKIPS])
    more = f"; and {len(skipped) - NAMED_SKIPS} more" if len(skipped) > NAMED_SKIPS else ""
    s = "s" if len(skipped) > 1 else ""
    return f"{source}: skipped {len(skipped)} unreadable image file{s}: {named}{more}"


def load_image_folder(folder, image_size=64, channels=3, cache_dir=None, background=BACKGROUND,
                      workers=None):
    """Every image under ``folder`` as an ImageSet of uint8 (N, image_size, image_size, channels).

    ``cache_dir`` None uses the default cache folder (see the module's docstring), False turns
    the cache off. ``workers`` is the number of decoding threads (default: the CPU count, up to
    8). Raises DataError for a missing folder, a folder without image files, or one where no
    image can be read; warns (DataWarning) when some files are skipped.
    """
    options = check_options(image_size, channels, background)
    folder = resolve_folder(folder)
    files, looked = find_image_files(folder)
    if not files:
        raise DataError(f"{folder}: no image files (looked at {looked} file"
                        f"{'' if looked == 1 else 's'}, recursively; accepted extensions: "
                        f"{' '.join(EXTENSIONS)})")
    entry = CacheEntry.find(folder, files, options, cache_dir)
    images = entry.load() if entry else None
    if images is None:
        images = build(folder, files, options, entry, workers)
    if images.skipped:
        warnings.warn(skip_message(folder, images.skipped), DataWarning, stacklevel=2)
    return images


def build(folder, files, options, entry, workers):
    """Decode the folder, into the cache when ``entry`` is given, else into memory."""
    size, channels, _ = options
    shape = (len(files), size, size, channels)
    target = entry.create(shape) if entry else None
    try:
        out = target.array if target else numpy.empty(shape, numpy.uint8)
        start = time.perf_counter()
        skipped = decode_all(folder, files, out, options, workers)
        seconds = time.perf_counter() - start
        if len(skipped) == len(files):
            _, name, reason = skipped[0]
            raise DataError(f"{folder}: none of the {len(files)} image files could be read; "
                            f"{name}: {reason}")
        bad = {row for row, _, _ in skipped}
        keep = [row for row in range(len(files)) if row not in bad]
        meta = metadata([files[row] for row in keep], skipped, seconds)
        if target:
            return replace(entry.commit(target, keep, meta), decoded=len(files))
    finally:
        if target:
            target.discard()
    images = out if not bad else out[keep]
    images.setflags(write=False)
    return image_set(images, meta, folder, None, decoded=len(files))


def metadata(names, skipped, seconds):
    """What the cache keeps beside the images: names, labels, classes, skipped files, time."""
    labels, class_names = labels_of(names)
    return {"names": tuple(names), "labels": labels, "class_names": class_names,
            "skipped": tuple((name, reason) for _, name, reason in skipped), "seconds": seconds}


def image_set(images, meta, source, cache_path, decoded):
    labels = numpy.asarray(meta["labels"], dtype=numpy.int64)
    labels.setflags(write=False)
    return ImageSet(images, labels, tuple(meta["class_names"]), tuple(meta["names"]),
                    tuple(tuple(s) for s in meta["skipped"]), str(source), cache_path,
                    decoded, float(meta["seconds"]))


# -- the cache --

def default_cache_dir():
    """``$SCRATCHGAN_CACHE``, else ``$XDG_CACHE_HOME/scratchgan``, else ``~/.cache/scratchgan``."""
    if os.environ.get("SCRATCHGAN_CACHE"):
        return Path(os.environ["SCRATCHGAN_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "scratchgan"


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class TempArray:
    """A half-written cache file: its path and its writable memory map."""

    path: Path
    array: numpy.ndarray

    def discard(self):
        self.array = None  # drop the map so that the file can be removed (Windows insists)
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class CacheEntry:
    """One cached folder: ``<stem>.npy`` holds the images, ``<stem>.json`` the rest.

    The stem is ``<folder name>-<hash of the options>-<hash of options and file list>``, so the
    entries of one folder and one set of options share a prefix, and a new entry can delete
    the stale ones it replaces.
    """

    folder: Path
    directory: Path
    prefix: str
    stem: str

    @classmethod
    def find(cls, folder, files, options, cache_dir):
        """The entry for this folder's current files, or None when the cache is off."""
        if cache_dir is False:
            return None
        directory = Path(cache_dir or default_cache_dir()).expanduser() / "images"
        config = json.dumps([CACHE_VERSION, str(folder), *options])
        listing = hashlib.sha256(config.encode())
        for name in files:
            st = os.stat(folder / name)
            listing.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", folder.name)[:40] or "root"
        prefix = f"{slug}-{sha256_hex(config)[:12]}"
        return cls(folder, directory, prefix, f"{prefix}-{listing.hexdigest()[:20]}")

    @property
    def npy(self):
        return self.directory / f"{self.stem}.npy"

    @property
    def meta(self):
        return self.directory / f"{self.stem}.json"

    def load(self):
        """The cached ImageSet, or None when there is none (or it is unusable)."""
        try:
            meta = json.loads(self.meta.read_text())
            images = numpy.load(self.npy, mmap_mode="r")
        except (OSError, ValueError):
            return None
        if images.dtype != numpy.uint8 or len(images) != len(meta["names"]):
            return None
        return image_set(images, meta, self.folder, self.npy, decoded=0)

    def create(self, shape):
        """A TempArray to decode into, or None (with a warning) when the cache is not writable."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.directory, prefix=self.stem, suffix=".tmp")
            os.close(fd)
            array = numpy.lib.format.open_memmap(name, mode="w+", dtype=numpy.uint8, shape=shape)
        except OSError as e:
            warnings.warn(f"cannot write the image cache in {self.directory} ({e.strerror or e}); "
                          "decoding into memory without caching", DataWarning, stacklevel=4)
            return None
        return TempArray(Path(name), array)

    def commit(self, target, keep, meta):
        """Move the decoded images into place (without the skipped rows), then the metadata,
        whose presence marks the entry complete; delete the entries this one replaces."""
        if len(keep) < len(target.array):
            target = self.compact(target, keep)
        target.array.flush()
        target.array = None
        os.replace(target.path, self.npy)
        meta = {**meta, "labels": meta["labels"].tolist()}
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=self.stem, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(meta, f)
        os.replace(name, self.meta)
        self.remove_stale()
        return self.load()

    def compact(self, target, keep):
        """A new TempArray holding only the rows ``keep``, copied a slice at a time."""
        fresh = self.create((len(keep), *target.array.shape[1:]))
        for start in range(0, len(keep), 1024):
            rows = keep[start:start + 1024]
            fresh.array[start:start + len(rows)] = target.array[rows]
        target.discard()
        return fresh

    def remove_stale(self):
        for path in self.directory.glob(f"{self.prefix}-*"):
            if path.stem != self.stem and path.suffix in (".npy", ".json"):
                path.unlink(missing_ok=True)
