"""The examples' data loading: scratchgan's shipped MNIST as a PyTorch DataLoader would give it.

The PyTorch programs in this folder build their data with torchvision, e.g.

    dataloader = torch.utils.data.DataLoader(
        datasets.MNIST("../../data/mnist", train=True, download=True,
                       transform=transforms.Compose([transforms.Resize(opt.img_size),
                                                     transforms.ToTensor(),
                                                     transforms.Normalize([0.5], [0.5])])),
        batch_size=opt.batch_size, shuffle=True)

and that one statement is what each example replaces with

    dataloader = MNISTLoader(opt.img_size, opt.channels, opt.batch_size, shuffle=True)

Iterating gives ``(images, labels)`` batches: float32 (B, channels, size, size) Tensors in
[-1, 1], as ToTensor then Normalize((0.5,), (0.5,)) give, and int64 (B,) Tensors of digits.
The 28x28 digits are resized with Pillow's bilinear filter (as transforms.Resize does), one batch
at a time, and grey is replicated to ``channels`` (3 for the programs written for colour images).
``len(loader)`` is the number of batches per epoch; the last batch may be short, as with
DataLoader's default ``drop_last=False``. Shuffling draws from NumPy's global generator.

Two environment variables make a short run for tests:

    SCRATCHGAN_EXAMPLE_BATCHES=N      an epoch stops after N batches (and len(loader) says N)
    SCRATCHGAN_EXAMPLE_BATCH_SIZE=B   batches of B images whatever the program asked for
"""
import math
import os

import numpy
from PIL import Image

import scratchgan
from scratchgan.data import load_mnist


def _env_int(name):
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    number = int(value)
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


class MNISTLoader:
    """Batches of MNIST ``(images, labels)``, as ``torch.utils.data.DataLoader`` over
    torchvision's MNIST with Resize, ToTensor and Normalize((0.5,), (0.5,))."""

    def __init__(self, image_size=28, channels=1, batch_size=64, shuffle=True, split="train",
                 drop_last=False):
        self.images, self.labels = load_mnist(split)
        self.image_size, self.channels = int(image_size), int(channels)
        self.batch_size = _env_int("SCRATCHGAN_EXAMPLE_BATCH_SIZE") or int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.max_batches = _env_int("SCRATCHGAN_EXAMPLE_BATCHES")
        self.dataset = self.images  # len(loader.dataset), as a DataLoader has

    def __len__(self):
        count = len(self.images)
        batches = count // self.batch_size if self.drop_last else math.ceil(count /
                                                                             self.batch_size)
        return batches if self.max_batches is None else min(batches, self.max_batches)

    def _resized(self, digits):
        """uint8 (B, 28, 28) -> float32 (B, size, size) in [0, 1], as Resize then ToTensor."""
        if self.image_size == digits.shape[-1]:
            return digits.astype(numpy.float32) / 255
        size, bilinear = (self.image_size, self.image_size), Image.Resampling.BILINEAR
        return numpy.stack([numpy.asarray(Image.fromarray(d).resize(size, bilinear),
                                          dtype=numpy.float32) for d in digits]) / 255

    def _batch(self, indices):
        images = self._resized(self.images[indices])
        images = (images - 0.5) / 0.5  # Normalize((0.5,), (0.5,))
        images = numpy.repeat(images[:, None], self.channels, axis=1).astype(numpy.float32)
        labels = self.labels[indices].astype(numpy.int64)
        return scratchgan.from_numpy(numpy.ascontiguousarray(images)), \
            scratchgan.from_numpy(labels)

    def __iter__(self):
        count = len(self.images)
        order = numpy.random.permutation(count) if self.shuffle else numpy.arange(count)
        for number in range(len(self)):
            yield self._batch(order[number * self.batch_size:(number + 1) * self.batch_size])
