"""The colour dataset that ships with the package: 1,147 emoji faces, so that colour GANs run
offline on a fresh machine.

``files/emoji_faces.npz`` holds Google's Noto Color Emoji (Apache License 2.0) from the npm
package emoji-datasource-google 16.0.0 (MIT, Cal Henderson): smileys, people in all skin
tones and animal faces, 64x64 RGB composited on white; ``files/emoji_faces.LICENSE.txt`` gives
the credit and both licences, and ``scripts/build_emoji_faces.py`` rebuilds the file
byte for byte. Classes: "animal" (32 images), "person" (997), "smiley" (118).

The file's SHA-256 is checked against ``files/emoji_faces.SHA256`` on every load, since a
damaged dataset would otherwise only show as a GAN that learns nothing.
"""
import hashlib
import zipfile
from pathlib import Path

import numpy
from PIL import Image

from scratchgan.data.images import ImageSet, check_options, fit
from scratchgan.data.mnist import DataError

FACES_FILE = Path(__file__).resolve().parent / "files" / "emoji_faces.npz"
STORED_SIZE = 64
KEYS = ("images", "labels", "class_names", "names")


def checksum_of(path):
    """The SHA-256 recorded for ``path`` in ``<stem>.SHA256`` next to it."""
    record = path.with_suffix(".SHA256")
    try:
        digest, name = record.read_text().split()
    except (OSError, ValueError):
        raise DataError(f"{record}: missing or not '<sha256>  {path.name}'") from None
    if name.lstrip("*") != path.name or len(digest) != 64:
        raise DataError(f"{record}: expected '<sha256>  {path.name}'")
    return digest.lower()


def read_verified(path):
    """The arrays of the .npz at ``path``, after checking its SHA-256."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read the emoji faces dataset ({e.strerror or e}); "
                        "reinstall scratchgan") from None
    expected = checksum_of(path)
    if hashlib.sha256(raw).hexdigest() != expected:
        raise DataError(f"{path}: SHA-256 mismatch, the file is corrupt; expected {expected}")
    try:
        with numpy.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in KEYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a valid emoji faces file ({e})") from None


def resized(images, image_size, channels):
    """The stored 64x64 RGB images at another size or as grey, with the folder loader's filter."""
    if image_size == STORED_SIZE and channels == 3:
        return images
    return numpy.stack([fit(Image.fromarray(im), image_size, channels) for im in images])


def load_emoji_faces(image_size=64, channels=3, path=None):
    """The shipped emoji faces as an ImageSet of uint8 (N, image_size, image_size, channels).

    ``image_size`` is a power of two from 16 on; sizes other than 64 are resized with the image
    folders' LANCZOS filter, and ``channels=1`` gives grey (ITU-R 601-2 luma). ``path`` reads
    another copy of the file (its ``.SHA256`` record must lie next to it).
    """
    image_size, channels, _ = check_options(image_size, channels, (255, 255, 255))
    path = FACES_FILE if path is None else Path(path)
    arrays = read_verified(path)
    images = resized(arrays["images"], image_size, channels)
    images.setflags(write=False)
    labels = arrays["labels"].astype(numpy.int64)
    labels.setflags(write=False)
    return ImageSet(images, labels, tuple(str(c) for c in arrays["class_names"]),
                    tuple(str(n) for n in arrays["names"]), source=f"emoji faces ({path.name})")
