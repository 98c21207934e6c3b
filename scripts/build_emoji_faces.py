"""Build scratchgan/data/files/emoji_faces.npz, the colour dataset that ships with the package.

Source: the npm package ``emoji-datasource-google`` 16.0.0 (emoji-data by Cal Henderson,
https://github.com/iamcal/emoji-data), fetched with ``npm pack``; its tarball's SHA-256 is
pinned below, so a rebuild uses exactly the same images. The package holds Google's Noto Color
Emoji as 64x64 RGBA PNGs (``img/google/64/``) and their descriptions (``emoji.json``).

Licences: the Noto Emoji images are Copyright Google Inc., Apache License 2.0
(https://github.com/googlefonts/noto-emoji/blob/main/LICENSE); the emoji-data package
(emoji.json, the packaging) is MIT, Copyright (c) 2013 Cal Henderson. Both allow
redistribution with the notice, which ``emoji_faces.LICENSE.txt`` carries.

Selection, faces only (a GAN learns one kind of picture best):

- smiley: every subcategory starting with "face-" (smiling, concerned, costume, ...);
- person: "person", "person-role", "person-gesture", "person-fantasy", each in its default
  yellow and in all five skin tones (the ``skin_variations`` that have a Google image);
- animal: "cat-face", "monkey-face", and the animals (any "animal-" subcategory) whose name
  holds "FACE" (dog, cat, fox, ... and frog and dragon), which are drawn as heads.

Each PNG is composited on white and stored as uint8 RGB. The result is written as one
compressed .npz whose zip entries carry a fixed timestamp, so that a rebuild gives the same
bytes; its SHA-256 goes to ``emoji_faces.SHA256``, which the loader checks.

Usage: python scripts/build_emoji_faces.py [--tarball FILE] [--out DIR] [--apache-license FILE]
(Run time: about 20 s after the 74 MB download.)
"""
import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy
from PIL import Image

PACKAGE, VERSION = "emoji-datasource-google", "16.0.0"
TARBALL_SHA256 = "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438"
IMAGES = "package/img/google/64/"
CLASSES = ("animal", "person", "smiley")  # sorted, as the folder loader sorts class names
PERSON = {"person", "person-role", "person-gesture", "person-fantasy"}
ANIMAL = {"cat-face", "monkey-face"}
APACHE = Path("/usr/share/common-licenses/Apache-2.0")  # Debian and Ubuntu ship it
OUT = Path(__file__).resolve().parent.parent / "scratchgan" / "data" / "files"
STEM = "emoji_faces"

LICENSE_TEXT = """\
emoji_faces.npz: {count} emoji faces ({counts}), 64x64 RGB on white, uint8.

Images: Noto Color Emoji, Copyright Google Inc., licensed under the Apache License,
Version 2.0 (https://www.apache.org/licenses/LICENSE-2.0);
source https://github.com/googlefonts/noto-emoji.

Taken from the npm package {package} {version} (emoji-data,
https://github.com/iamcal/emoji-data), Copyright (c) 2013 Cal Henderson, MIT License;
tarball {package}-{version}.tgz, SHA-256 {sha256}.

Changes: a selection of faces, people and animal faces, composited on a white background,
stored as one NumPy .npz file by scripts/build_emoji_faces.py.

--- MIT License of emoji-data ---
{mit}
--- Apache License 2.0 of the Noto Emoji images ---
{apache}"""


def fetch(folder):
    """Download the pinned tarball into ``folder`` with npm; its path."""
    subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL)
    return Path(folder) / f"{PACKAGE}-{VERSION}.tgz"


def verify(tarball):
    digest = hashlib.sha256(Path(tarball).read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        sys.exit(f"{tarball}: SHA-256 {digest}, expected {TARBALL_SHA256}")


def coarse_class(entry):
    """"smiley", "person", "animal", or None for an emoji that is not a face."""
    sub = entry["subcategory"]
    if sub.startswith("face-"):
        return "smiley"
    if sub in PERSON:
        return "person"
    if sub in ANIMAL or (sub.startswith("animal-") and "FACE" in entry["name"]):
        return "animal"
    return None


def selection(emoji):
    """``[(image file, short name, class)]`` in the package's sort order, skin tones last."""
    chosen = []
    for entry in sorted(emoji, key=lambda e: e["sort_order"]):
        kind = coarse_class(entry)
        if kind is None:
            continue
        if entry["has_img_google"]:
            chosen.append((entry["image"], entry["short_name"], kind))
        for tone, variant in sorted((entry.get("skin_variations") or {}).items()):
            if variant["has_img_google"]:
                chosen.append((variant["image"], f"{entry['short_name']}:{tone.lower()}", kind))
    return chosen


def on_white(png):
    """A PNG's bytes as uint8 (64, 64, 3), composited on white."""
    im = Image.open(io.BytesIO(png)).convert("RGBA")
    if im.size != (64, 64):
        raise ValueError(f"image is {im.size}, expected 64x64")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return numpy.asarray(Image.alpha_composite(white, im).convert("RGB"))


def read_package(tarball):
    """``(images, labels, names, MIT licence text)`` from the tarball."""
    with tarfile.open(tarball) as tar:
        emoji = json.load(tar.extractfile("package/emoji.json"))
        mit = tar.extractfile("package/LICENSE").read().decode()
        chosen = selection(emoji)
        images = numpy.stack([on_white(tar.extractfile(IMAGES + f).read()) for f, _, _ in chosen])
    labels = numpy.array([CLASSES.index(kind) for _, _, kind in chosen], dtype=numpy.uint8)
    return images, labels, [name for _, name, _ in chosen], mit


def write_npz(path, arrays):
    """``numpy.savez_compressed`` with a fixed timestamp in every zip entry (reproducible)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                numpy.lib.format.write_array(f, numpy.asarray(array), allow_pickle=False)


def apache_text(path):
    """The Apache License's text, which must travel with the images (its section 4a)."""
    if path.is_file():
        return path.read_text()
    print(f"warning: {path} not found; the licence file will only link the Apache License",
          file=sys.stderr)
    return "https://www.apache.org/licenses/LICENSE-2.0.txt\n"


def write_outputs(out, apache, images, labels, names, mit):
    out.mkdir(parents=True, exist_ok=True)
    npz = out / f"{STEM}.npz"
    write_npz(npz, {"images": images, "labels": labels, "class_names": numpy.array(CLASSES),
                    "names": numpy.array(names)})
    digest = hashlib.sha256(npz.read_bytes()).hexdigest()
    (out / f"{STEM}.SHA256").write_text(f"{digest}  {npz.name}\n")
    counts = ", ".join(f"{numpy.sum(labels == i)} {c}" for i, c in enumerate(CLASSES))
    (out / f"{STEM}.LICENSE.txt").write_text(LICENSE_TEXT.format(
        count=len(images), counts=counts, package=PACKAGE, version=VERSION,
        sha256=TARBALL_SHA256, mit=mit, apache=apache))
    print(f"{npz}: {len(images)} images ({counts}), {npz.stat().st_size / 1e6:.2f} MB, "
          f"SHA-256 {digest}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="use this downloaded tarball, not npm")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="output folder (default: %(default)s)")
    parser.add_argument("--apache-license", type=Path, default=APACHE,
                        help="a copy of the Apache License 2.0 text (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch(tmp)
        verify(tarball)
        write_outputs(args.out, apache_text(args.apache_license), *read_package(tarball))


if __name__ == "__main__":
    main()
