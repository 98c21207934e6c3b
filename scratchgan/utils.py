"""torchvision.utils' image grids: ``make_grid`` and ``save_image``, with torchvision's semantics.

    from scratchgan.utils import make_grid, save_image
    save_image(fake.data[:25], "images/%d.png" % step, nrow=5, normalize=True)

Both take a (B, C, H, W), (C, H, W) or (H, W) Tensor or NumPy array, or a list of (C, H, W)
ones. One-channel images become three-channel; a batch of one image comes back as that image,
without padding, as torchvision does. The grid is computed on the input's backend, without a
graph (torchvision runs under no_grad); only ``save_image`` brings it to the host.
"""
import math

import numpy
from PIL import Image

from scratchgan import backend as B
from scratchgan.tensor import Tensor


def _array(x, where):
    """The backend array of a Tensor, or a NumPy / device array as it is."""
    if isinstance(x, Tensor):
        return x.array
    if isinstance(x, B.backend_of(x).array_type):
        return x
    raise TypeError(f"{where}: tensor or list of tensors expected, got {type(x)}")


def _batch(tensor):
    """The images as one (B, C, H, W) backend array, one-channel ones made three-channel."""
    if isinstance(tensor, list):
        arrays = [_array(t, "make_grid") for t in tensor]
        if not arrays:
            raise ValueError("make_grid: got an empty list of tensors")
        array = B.xp_of(arrays[0]).stack(arrays, axis=0)
    else:
        array = _array(tensor, "make_grid")
    xp = B.xp_of(array)
    if array.ndim == 2:  # one image, H x W
        array = array[None]
    if array.ndim == 3:  # one image, C x H x W
        if array.shape[0] == 1:
            array = xp.concatenate((array, array, array), axis=0)
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected a (B, C, H, W), (C, H, W) or (H, W) tensor, got "
                         f"shape {tuple(array.shape)}")
    if array.shape[1] == 1:
        array = xp.concatenate((array, array, array), axis=1)
    return array


def _normalized(array, low, high):
    """Clamp to [low, high] and shift to [0, 1], in the array's dtype (torchvision's norm_ip)."""
    xp = B.xp_of(array)
    array = xp.clip(array, low, high)
    return (array - low) / max(high - low, 1e-5)


def _normalize(array, value_range, scale_each):
    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are "
                        "numbers")

    def norm_range(a):
        if value_range is not None:
            return _normalized(a, value_range[0], value_range[1])
        return _normalized(a, float(a.min()), float(a.max()))

    if scale_each:
        return B.xp_of(array).stack([norm_range(a) for a in array], axis=0)
    return norm_range(array)


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """The images side by side, ``nrow`` to a row, ``padding`` pixels of ``pad_value`` around
    and between them: a (C, H', W') Tensor of the input's dtype, on the input's backend.

    ``normalize`` shifts the images to [0, 1], by ``value_range`` (min, max) if given (values
    outside it are clamped) or else by their min and max: each image's own if ``scale_each``,
    else the whole batch's. The input is never changed.
    """
    array = _batch(tensor)
    if normalize is True:
        array = _normalize(array, value_range, scale_each)
    if array.shape[0] == 1:
        return Tensor._wrap(array[0])
    count, channels, height, width = array.shape
    columns = min(nrow, count)
    rows = int(math.ceil(float(count) / columns))
    cell_h, cell_w = int(height + padding), int(width + padding)
    grid = B.xp_of(array).full((channels, cell_h * rows + padding, cell_w * columns + padding),
                               pad_value, dtype=array.dtype)
    for k in range(count):
        y, x = divmod(k, columns)
        top, left = y * cell_h + padding, x * cell_w + padding
        grid[:, top:top + cell_h - padding, left:left + cell_w - padding] = array[k]
    return Tensor._wrap(grid)


def save_image(tensor, fp, format=None, *, nrow=8, padding=2, normalize=False,  # noqa: A002
               value_range=None, scale_each=False, pad_value=0.0):
    """Save ``make_grid(tensor, ...)`` as an image file (a path or a binary file object; the
    format from the file name, or ``format``), as torchvision: pixel = clamp(v·255 + 0.5, 0, 255)
    truncated to uint8, so [0, 1] maps onto 0..255 rounded to nearest."""
    grid = make_grid(tensor, nrow=nrow, padding=padding, normalize=normalize,
                     value_range=value_range, scale_each=scale_each, pad_value=pad_value).array
    xp = B.xp_of(grid)
    pixels = xp.clip(grid * 255 + 0.5, 0, 255).astype(numpy.uint8)
    host = numpy.ascontiguousarray(B.to_numpy(pixels).transpose(1, 2, 0))
    Image.fromarray(host).save(fp, format=format)
