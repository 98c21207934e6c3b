"""Image folders (every format, mode and shape they come in, the cache, the errors), random
flips in the batch iterator, and the shipped emoji faces."""
import io
import os
import shutil

import numpy
import pytest
from fake_device import FAKE
from PIL import Image

from scratchgan import backend as B
from scratchgan.data import (
    BatchIterator,
    DataError,
    DataWarning,
    check_image_size,
    default_cache_dir,
    load_emoji_faces,
    load_image_folder,
)
from scratchgan.data import images as images_module
from scratchgan.data.faces import FACES_FILE

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def solid(colour, size=(32, 32), mode="RGB"):
    return Image.new(mode, size, colour)


def bands(size, colours):
    """Three bands across the longer side: the centre crop of a 3:2 picture keeps only the
    middle one, whose width is the shorter side."""
    w, h = size
    a = numpy.zeros((h, w, 3), numpy.uint8)
    edge = (max(w, h) - min(w, h)) // 2
    long = slice(None, edge), slice(edge, max(w, h) - edge), slice(max(w, h) - edge, None)
    for part, colour in zip(long, colours):
        if w > h:
            a[:, part] = colour
        else:
            a[part, :] = colour
    return Image.fromarray(a)


def half_transparent():
    """Left half fully transparent (over black), right half opaque red."""
    a = numpy.zeros((32, 32, 4), numpy.uint8)
    a[:, 16:] = (*RED, 255)
    return Image.fromarray(a, "RGBA")


def animated_gif(path):
    frames = [solid(GREEN).convert("P"), solid(BLUE).convert("P")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)


def write_folder(root):
    """Two classes in nested folders, one file of every kind; 7 images, 2 broken files."""
    (root / "cats" / "nested").mkdir(parents=True)
    (root / "dogs").mkdir()
    solid(RED).save(root / "cats" / "a.png")
    bands((48, 32), (RED, BLUE, GREEN)).save(root / "cats" / "nested" / "b.jpg", quality=95)
    solid(128, mode="L").save(root / "cats" / "c.bmp")
    animated_gif(root / "dogs" / "d.gif")
    half_transparent().save(root / "dogs" / "e.webp", lossless=True)
    solid(GREEN).convert("P").save(root / "dogs" / "f.PNG")
    solid((0, 0, 0, 0), mode="RGBA").save(root / "dogs" / "g.png")
    (root / "dogs" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    jpeg = io.BytesIO()
    solid(BLUE, (64, 64)).save(jpeg, "JPEG")
    (root / "cats" / "truncated.jpg").write_bytes(jpeg.getvalue()[:len(jpeg.getvalue()) // 2])
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden.png").write_bytes(b"ignored, as a hidden file")
    return root


@pytest.fixture
def folder(tmp_path):
    return write_folder(tmp_path / "pictures")


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def load(folder, cache, **options):
    with pytest.warns(DataWarning, match="skipped 2 unreadable image files"):
        return load_image_folder(folder, cache_dir=cache, **options)


def pixel(images, name, y=8, x=8):
    return images.images[images.names.index(name)][y, x].tolist()


# -- decoding --

def test_every_format_loads_with_labels_from_the_first_level_folders(folder, cache):
    images = load(folder, cache, image_size=16)
    assert images.images.shape == (7, 16, 16, 3) and images.images.dtype == numpy.uint8
    assert images.names == ("cats/a.png", "cats/c.bmp", "cats/nested/b.jpg", "dogs/d.gif",
                            "dogs/e.webp", "dogs/f.PNG", "dogs/g.png")
    assert images.class_names == ("cats", "dogs")
    assert images.labels.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert not images.images.flags.writeable


def test_broken_files_are_counted_named_and_skipped(folder, cache):
    with pytest.warns(DataWarning) as caught:
        images = load_image_folder(folder, image_size=16, cache_dir=cache)
    message = str(caught[0].message)
    assert "\n" not in message and "cats/truncated.jpg" in message and "dogs/bad.png" in message
    assert [name for name, _ in images.skipped] == ["cats/truncated.jpg", "dogs/bad.png"]
    assert "truncated" in images.skipped[0][1].lower()


def test_modes_become_rgb_and_transparency_white(folder, cache):
    images = load(folder, cache, image_size=16)
    assert pixel(images, "cats/a.png") == list(RED)
    assert pixel(images, "cats/c.bmp") == [128, 128, 128]
    assert pixel(images, "dogs/f.PNG") == list(GREEN)
    assert pixel(images, "dogs/d.gif") == list(GREEN)  # the first frame
    assert pixel(images, "dogs/g.png") == list(WHITE)
    webp = images.images[images.names.index("dogs/e.webp")]
    assert (webp[:, :4] == 255).all()  # transparent over black: white, not black
    assert (webp[:, 12:] == RED).all()


def test_sixteen_bit_grey_is_scaled_and_cmyk_converted(tmp_path):
    Image.fromarray(numpy.full((32, 32), 32896, numpy.uint16)).save(tmp_path / "a16.png")
    solid((0, 255, 255, 0), mode="CMYK").save(tmp_path / "b.jpg", quality=100)
    a16, cmyk = load_image_folder(tmp_path, 16, cache_dir=False).images
    assert (a16 == 128).all()  # 32896 / 257; Pillow's own conversion would clip it to 255
    assert numpy.abs(cmyk.astype(int) - RED).max() <= 2


def test_the_exif_orientation_is_applied(tmp_path):
    a = numpy.zeros((32, 32, 3), numpy.uint8)
    a[:, :16], a[:, 16:] = RED, BLUE
    exif = Image.Exif()
    exif[0x0112] = 3  # stored upside down
    Image.fromarray(a).save(tmp_path / "a.png", exif=exif)
    (image,) = load_image_folder(tmp_path, 16, cache_dir=False).images
    assert image[8, 2].tolist() == list(BLUE) and image[8, 13].tolist() == list(RED)


def test_another_background(folder, cache):
    images = load(folder, cache, image_size=16, background=(0, 0, 255))
    assert pixel(images, "dogs/g.png") == list(BLUE)


def test_centre_crop_keeps_the_middle_of_wide_and_tall_pictures(tmp_path):
    bands((96, 64), (RED, BLUE, GREEN)).save(tmp_path / "wide.png")
    bands((64, 96), (RED, GREEN, GREEN)).save(tmp_path / "tall.png")
    images = load_image_folder(tmp_path, image_size=16, cache_dir=False)
    tall, wide = images.images
    assert (wide == BLUE).all() and (tall == GREEN).all()


def test_grey_channel(folder, cache):
    images = load(folder, cache, image_size=16, channels=1)
    assert images.images.shape == (7, 16, 16, 1)
    assert pixel(images, "cats/c.bmp") == [128]
    assert pixel(images, "cats/a.png") == [76]  # ITU-R 601-2 luma of red: 0.299 * 255


@pytest.mark.parametrize("size", [16, 32, 64])
def test_image_sizes(tmp_path, size):
    solid(RED, (40, 30)).save(tmp_path / "a.png")
    assert load_image_folder(tmp_path, size, cache_dir=False).images.shape == (1, size, size, 3)


@pytest.mark.parametrize("size", [8, 24, 48, 0, 64.0, True])
def test_sizes_that_are_not_powers_of_two_from_16_are_refused(tmp_path, size):
    with pytest.raises(ValueError, match="power of two from 16"):
        load_image_folder(tmp_path, image_size=size)
    with pytest.raises(ValueError, match="power of two from 16"):
        check_image_size(size)


def test_tanh_range_is_exact_at_0_and_255(tmp_path):
    a = numpy.zeros((16, 16, 3), numpy.uint8)
    a[:, 8:] = 255
    Image.fromarray(a).save(tmp_path / "a.png")
    x = load_image_folder(tmp_path, 16, cache_dir=False).to_tanh_range()
    assert x.shape == (1, 3, 16, 16) and x.dtype == numpy.float32
    assert (x[..., :8] == -1).all() and (x[..., 8:] == 1).all()


def test_images_in_the_folder_itself_form_the_class_named_empty(tmp_path):
    solid(RED).save(tmp_path / "top.png")
    (tmp_path / "sub").mkdir()
    solid(BLUE).save(tmp_path / "sub" / "x.png")
    images = load_image_folder(tmp_path, 16, cache_dir=False)
    assert images.class_names == ("", "sub") and images.labels.tolist() == [1, 0]


# -- errors --

def test_missing_and_empty_folders_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_image_folder(tmp_path / "nowhere")
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(DataError, match=r"no image files \(looked at 1 file, .*\.png .*\.webp"):
        load_image_folder(tmp_path)


def test_a_folder_of_broken_images_is_an_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"not a png")
    (tmp_path / "b.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="none of the 2 image files could be read; a.png"):
        load_image_folder(tmp_path, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("*.npy"))


# -- the cache --

def test_a_second_load_comes_from_the_cache_without_decoding(folder, cache, monkeypatch):
    first = load(folder, cache, image_size=16)
    assert first.decoded == 9 and first.cache_path.parent == cache / "images"

    def refuse(*args, **kwargs):
        raise AssertionError("decoded again")
    monkeypatch.setattr(images_module.Image, "open", refuse)
    second = load(folder, cache, image_size=16)
    assert second.decoded == 0 and isinstance(second.images, numpy.memmap)
    numpy.testing.assert_array_equal(second.images, first.images)
    assert (second.names, second.class_names, second.skipped) == (
        first.names, first.class_names, first.skipped)
    numpy.testing.assert_array_equal(second.labels, first.labels)


def test_touching_a_file_decodes_again_and_replaces_the_entry(folder, cache):
    first = load(folder, cache, image_size=16)
    stat = os.stat(folder / "cats" / "a.png")
    os.utime(folder / "cats" / "a.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = load(folder, cache, image_size=16)
    assert second.decoded == 9 and second.cache_path != first.cache_path
    assert sorted(p.name for p in (cache / "images").iterdir()) == sorted(
        [second.cache_path.name, second.cache_path.with_suffix(".json").name])


def test_options_have_their_own_entries(folder, cache):
    load(folder, cache, image_size=16)
    assert load(folder, cache, image_size=32).decoded == 9
    assert load(folder, cache, image_size=16).decoded == 0


def test_an_unwritable_cache_falls_back_to_memory(folder, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be made inside a file")
    with pytest.warns(DataWarning) as caught:
        images = load_image_folder(folder, image_size=16, cache_dir=blocker)
    assert "cannot write the image cache" in str(caught[0].message)
    assert len(images) == 7 and images.cache_path is None


def test_default_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SCRATCHGAN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "scratchgan"
    monkeypatch.setenv("SCRATCHGAN_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


# -- flips in the batch iterator --

def ramps(n):
    """Image i: a left-to-right ramp i, i+1, ..., so both its id and its direction show."""
    row = numpy.arange(n, dtype=numpy.float32)[:, None, None, None] + numpy.arange(8)
    return numpy.broadcast_to(row, (n, 3, 8, 8)).copy()


def flipped_ids(batches):
    """[[(id, flipped?), ...] per batch]."""
    out = []
    for batch in batches:
        rows = B.to_numpy(batch)[:, 0, 0]
        out.append([(int(r.min()), bool(r[0] > r[-1])) for r in rows])
    return out


@pytest.mark.parametrize("device", ["numpy", FAKE.name])
def test_about_half_of_each_batch_is_mirrored(device):
    iterator = BatchIterator(ramps(400), batch_size=200, seed=1, backend=device, flip=True)
    for batch in flipped_ids(iterator):
        assert 70 < sum(f for _, f in batch) < 130


def test_flips_resume_exactly_from_the_state_dict():
    a = BatchIterator(ramps(40), batch_size=8, seed=2, flip=True)
    flipped_ids(a)
    state = a.state_dict()
    expected = flipped_ids(a)
    b = BatchIterator(ramps(40), batch_size=8, seed=9, flip=True)
    b.load_state_dict(state)
    assert flipped_ids(b.epoch(start=2)) == expected[2:]


def test_without_flips_the_order_stream_is_unchanged():
    order = numpy.random.default_rng(5).permutation(20)
    batches = flipped_ids(BatchIterator(ramps(20), batch_size=5, seed=5))
    assert [i for batch in batches for i, _ in batch] == order.tolist()
    assert not any(f for batch in batches for _, f in batch)


def test_labels_travel_with_their_images():
    labels = numpy.arange(12) % 3
    for images, batch_labels in BatchIterator(ramps(12), 4, labels=labels, flip=True):
        ids = B.to_numpy(images)[:, 0, 0].min(axis=1).astype(int)
        assert B.to_numpy(batch_labels).tolist() == (ids % 3).tolist()


# -- the shipped emoji faces --

def test_the_shipped_faces_load():
    faces = load_emoji_faces()
    assert faces.images.shape == (1147, 64, 64, 3) and faces.images.dtype == numpy.uint8
    assert faces.class_names == ("animal", "person", "smiley")
    assert numpy.bincount(faces.labels).tolist() == [32, 997, 118]
    assert len(faces.names) == 1147 and faces.names[0] == "grinning"
    assert (faces.images[:, 0, 0] == 255).all()  # composited on white
    assert load_emoji_faces(32, channels=1).images.shape == (1147, 32, 32, 1)


def test_a_corrupt_or_missing_faces_file_is_refused(tmp_path):
    copy = tmp_path / FACES_FILE.name
    shutil.copy(FACES_FILE, copy)
    shutil.copy(FACES_FILE.with_suffix(".SHA256"), tmp_path)
    raw = bytearray(copy.read_bytes())
    raw[len(raw) // 2] ^= 1
    copy.write_bytes(raw)
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        load_emoji_faces(path=copy)
    copy.unlink()
    with pytest.raises(DataError, match="cannot read the emoji faces"):
        load_emoji_faces(path=copy)
