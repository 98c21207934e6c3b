"""scratchgan.utils: torchvision's make_grid and save_image, with torchvision's semantics."""
import io

import numpy
import pytest
from PIL import Image

from scratchgan import backend as B
from scratchgan.tensor import Tensor
from scratchgan.utils import make_grid, save_image
from fake_device import FakeArray, xp as fake_xp


def images(b, c, h, w, seed=0):
    return numpy.random.default_rng(seed).standard_normal((b, c, h, w)).astype(numpy.float32)


def grid_of(*args, **kwargs):
    g = make_grid(*args, **kwargs)
    assert isinstance(g, Tensor) and not g.requires_grad
    return g.numpy()


# -- the grid's layout --

@pytest.mark.parametrize("b, nrow, padding", [(16, 8, 2), (10, 4, 2), (5, 8, 0), (7, 3, 5),
                                              (12, 12, 1), (3, 1, 3), (9, 3, 0)])
def test_grid_shape_and_placement(b, nrow, padding):
    x = images(b, 3, 4, 5)
    g = grid_of(Tensor(x), nrow=nrow, padding=padding, pad_value=-7.0)
    cols = min(nrow, b)
    rows = -(-b // cols)
    assert g.shape == (3, rows * (4 + padding) + padding, cols * (5 + padding) + padding)
    assert g.dtype == numpy.float32
    covered = numpy.zeros(g.shape, bool)
    for k in range(b):
        y, c = divmod(k, cols)
        top, left = y * (4 + padding) + padding, c * (5 + padding) + padding
        numpy.testing.assert_array_equal(g[:, top:top + 4, left:left + 5], x[k])
        covered[:, top:top + 4, left:left + 5] = True
    assert (g[~covered] == -7.0).all()  # padding, and the empty cells of the last row


def test_default_padding_is_two_zeros_and_eight_per_row():
    g = grid_of(Tensor(numpy.ones((9, 3, 2, 2), numpy.float32)))
    assert g.shape == (3, 2 * 4 + 2, 8 * 4 + 2)
    assert (g[:, :2] == 0).all() and (g[:, :, :2] == 0).all() and (g[:, 2:4, 2:4] == 1).all()
    assert (g[:, 6:8, 6:] == 0).all()  # the last row holds one image


def test_one_image_comes_back_unpadded():
    x = images(1, 3, 4, 5)
    numpy.testing.assert_array_equal(grid_of(Tensor(x), padding=4), x[0])
    numpy.testing.assert_array_equal(grid_of(Tensor(x[0]), padding=4), x[0])


@pytest.mark.parametrize("shape", [(4, 1, 3, 3), (1, 3, 3), (3, 3), (1, 1, 3, 3)])
def test_grey_becomes_three_channels(shape):
    x = numpy.arange(numpy.prod(shape), dtype=numpy.float32).reshape(shape)
    g = grid_of(Tensor(x), nrow=2, padding=1)
    assert g.shape[0] == 3
    numpy.testing.assert_array_equal(g[0], g[1])
    numpy.testing.assert_array_equal(g[0], g[2])
    if len(shape) < 4 or shape[0] == 1:
        numpy.testing.assert_array_equal(g[0], x.reshape(3, 3))


def test_other_channel_counts_are_kept():
    assert grid_of(Tensor(images(3, 4, 2, 2)), padding=0).shape == (4, 2, 6)
    assert grid_of(Tensor(images(3, 2, 2, 2)), padding=0).shape == (2, 2, 6)


def test_list_of_tensors_and_numpy_input():
    x = images(5, 3, 4, 4)
    expected = grid_of(Tensor(x), nrow=2)
    numpy.testing.assert_array_equal(grid_of([Tensor(i) for i in x], nrow=2), expected)
    numpy.testing.assert_array_equal(grid_of(x, nrow=2), expected)
    numpy.testing.assert_array_equal(grid_of([Tensor(i[:1]) for i in x], nrow=2)[1],
                                     grid_of(Tensor(x[:, :1]), nrow=2)[0])
    with pytest.raises(TypeError):
        make_grid([[1.0, 2.0]])
    with pytest.raises(TypeError):
        make_grid("not a tensor")


def test_no_graph_and_input_untouched():
    x = Tensor(images(4, 3, 2, 2), requires_grad=True)
    before = x.numpy().copy()
    g = make_grid(x * 2, normalize=True)
    assert not g.requires_grad and g.creator is None
    numpy.testing.assert_array_equal(x.numpy(), before)


# -- normalize --

def test_normalize_by_the_batch_min_and_max():
    x = images(4, 3, 3, 3)
    x[0] *= 10
    g = grid_of(Tensor(x), normalize=True, padding=0, nrow=4)
    lo, hi = x.min(), x.max()
    expected = (x - lo) / (hi - lo)
    numpy.testing.assert_allclose(g[:, :, :3], expected[0], rtol=1e-6, atol=1e-7)
    numpy.testing.assert_allclose(g[:, :, 9:], expected[3], rtol=1e-6, atol=1e-7)
    assert g.min() == 0.0 and g.max() == 1.0


def test_normalize_scale_each_by_each_image():
    x = images(3, 3, 3, 3)
    x[1] = x[1] * 5 + 3
    g = grid_of(Tensor(x), normalize=True, scale_each=True, padding=0)
    for k in range(3):
        cell = g[:, :, 3 * k:3 * k + 3]
        assert cell.min() == 0.0 and cell.max() == 1.0
        numpy.testing.assert_allclose(cell, (x[k] - x[k].min()) / (x[k].max() - x[k].min()),
                                      rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("scale_each", [False, True])
def test_normalize_by_value_range_clamps(scale_each):
    x = numpy.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], numpy.float32).reshape(1, 1, 2, 3)
    x = numpy.concatenate([x, x])
    g = grid_of(Tensor(x), normalize=True, value_range=(-1, 1), scale_each=scale_each, padding=0)
    numpy.testing.assert_allclose(g[0, :, :3].ravel(), [0, 0, 0.5, 0.75, 1, 1])
    with pytest.raises(TypeError, match="value_range"):
        make_grid(Tensor(x), normalize=True, value_range=[-1, 1])


def test_normalize_a_constant_image_divides_by_a_tiny_epsilon():
    g = grid_of(Tensor(numpy.full((2, 3, 2, 2), 4.0, numpy.float32)), normalize=True, padding=0)
    assert (g == 0).all()


def test_value_range_ignored_without_normalize():
    x = images(2, 3, 2, 2) * 5
    numpy.testing.assert_array_equal(grid_of(Tensor(x), value_range=(0, 1), padding=0)[:, :, :2],
                                     x[0])


# -- save_image --

def read_png(source):
    with Image.open(source) as im:
        return im.mode, numpy.asarray(im)


def test_saved_png_holds_the_rounded_pixels(tmp_path):
    values = numpy.array([[0.0, 1.0, 0.5, 0.498],
                          [-0.2, 1.3, 0.25, 0.1]], numpy.float32)
    x = numpy.stack([values, values * 0, values * 0 + 1])[None]  # one (3, 2, 4) image
    save_image(Tensor(x), tmp_path / "a.png")
    mode, pixels = read_png(tmp_path / "a.png")
    assert mode == "RGB" and pixels.dtype == numpy.uint8 and pixels.shape == (2, 4, 3)
    # v * 255 + 0.5, clamped to [0, 255], truncated: [0, 1] rounds to nearest 0..255
    numpy.testing.assert_array_equal(pixels[..., 0], [[0, 255, 128, 127], [0, 255, 64, 26]])
    assert (pixels[..., 1] == 0).all() and (pixels[..., 2] == 255).all()


def test_saved_grid_of_grey_images(tmp_path):
    x = numpy.linspace(-1, 1, 2 * 1 * 3 * 3, dtype=numpy.float32).reshape(2, 1, 3, 3)
    path = str(tmp_path / "grid.png")
    save_image(Tensor(x), path, nrow=2, padding=1, normalize=True, pad_value=1.0)
    mode, pixels = read_png(path)
    assert mode == "RGB" and pixels.shape == (5, 9, 3)
    expected = grid_of(Tensor(x), nrow=2, padding=1, normalize=True, pad_value=1.0)
    expected = numpy.clip(expected * 255 + 0.5, 0, 255).astype(numpy.uint8).transpose(1, 2, 0)
    numpy.testing.assert_array_equal(pixels, expected)
    assert (pixels[0] == 255).all() and pixels[1, 1, 0] == 0 and pixels[3, 7, 0] == 255


def test_save_to_a_file_object_with_a_format():
    buffer = io.BytesIO()
    save_image(Tensor(numpy.ones((3, 2, 2), numpy.float32)), buffer, format="png")
    buffer.seek(0)
    mode, pixels = read_png(buffer)
    assert mode == "RGB" and (pixels == 255).all()
    buffer = io.BytesIO()
    save_image(Tensor(numpy.ones((3, 2, 2), numpy.float32)), buffer, "JPEG")  # as torchvision
    assert buffer.getvalue()[:2] == b"\xff\xd8"


def test_save_without_a_format_needs_an_extension(tmp_path):
    with pytest.raises(ValueError):
        save_image(Tensor(numpy.ones((3, 2, 2), numpy.float32)), tmp_path / "noext")


# -- on a device --

def test_on_the_strict_fake_device(tmp_path):
    x = images(5, 1, 3, 4)
    host = grid_of(Tensor(x), nrow=3, normalize=True, scale_each=True, pad_value=0.5)
    g = make_grid(Tensor(fake_xp.asarray(x)), nrow=3, normalize=True, scale_each=True,
                  pad_value=0.5)
    assert isinstance(g.array, FakeArray)
    numpy.testing.assert_array_equal(B.to_numpy(g.array), host)
    listed = make_grid([Tensor(fake_xp.asarray(i)) for i in x], nrow=3, value_range=(-1, 1),
                       normalize=True)
    assert isinstance(listed.array, FakeArray)
    save_image(Tensor(fake_xp.asarray(x)), tmp_path / "fake.png", nrow=3, normalize=True)
    save_image(Tensor(x), tmp_path / "host.png", nrow=3, normalize=True)
    numpy.testing.assert_array_equal(read_png(tmp_path / "fake.png")[1],
                                     read_png(tmp_path / "host.png")[1])


def test_on_the_fake_backend_when_it_is_active():
    B.use_backend("fake")
    try:
        g = make_grid(Tensor(fake_xp.asarray(images(2, 3, 2, 2))), padding=1)
        assert isinstance(g.array, FakeArray) and g.shape == (3, 4, 7)
    finally:
        B.use_backend("numpy")


# -- against torchvision's own code, run on real torch (skipped where torch is missing) --

def torchvision_make_grid(torch, tensor, nrow=8, padding=2, normalize=False, value_range=None,
                          scale_each=False, pad_value=0.0):
    """torchvision.utils.make_grid's body, as torchvision 0.2x has it."""
    if isinstance(tensor, list):
        tensor = torch.stack(tensor, dim=0)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = torch.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if normalize is True:
        tensor = tensor.clone()

        def norm_ip(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        def norm_range(t, value_range):
            if value_range is not None:
                norm_ip(t, value_range[0], value_range[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))

        if scale_each is True:
            for t in tensor:
                norm_range(t, value_range)
        else:
            norm_range(tensor, value_range)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(numpy.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    grid = tensor.new_full((tensor.size(1), height * ymaps + padding, width * xmaps + padding),
                           pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(tensor[k])
            k = k + 1
    return grid


@pytest.mark.parametrize("shape, kwargs", [
    ((6, 1, 5, 4), dict(nrow=4, normalize=True)),
    ((7, 3, 3, 3), dict(nrow=3, padding=3, normalize=True, scale_each=True, pad_value=0.3)),
    ((4, 3, 2, 5), dict(normalize=True, value_range=(-0.5, 0.7))),
    ((2, 5, 5), dict(normalize=True)),
    ((5, 5), dict(padding=0)),
    ((1, 1, 4, 4), dict(normalize=True, scale_each=True)),
])
def test_matches_torchvision_on_torch(shape, kwargs, tmp_path):
    torch = pytest.importorskip("torch")
    x = numpy.random.default_rng(3).standard_normal(shape).astype(numpy.float32) * 3 + 1
    expected = torchvision_make_grid(torch, torch.from_numpy(x.copy()), **kwargs)
    numpy.testing.assert_array_equal(grid_of(Tensor(x), **kwargs), expected.numpy())
    pixels = expected.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8)
    save_image(Tensor(x), tmp_path / "x.png", **kwargs)
    numpy.testing.assert_array_equal(read_png(tmp_path / "x.png")[1], pixels.numpy())
