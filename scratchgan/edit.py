"""Editing with a trained generator: walk its latent space, find the z of an image, repair images.

    from scratchgan import edit
    frames = edit.interpolate(G, z0, z1, steps=8, mode="slerp")         # (8, C, H, W)
    found = edit.invert(G, images)                  # z with G(z) ≈ images: found.z, found.images
    fixed = edit.inpaint(G, images, edit.make_mask("center", (28, 28)))  # fixed.images

All three run G frozen and in eval mode (batch norm's running statistics), on G's backend; the
images going in and out are host float32 (N, C, H, W) in [-1, 1], as ``trainer.generate`` gives.
Inversion is plain gradient descent on z through G: our autograd differentiates G(z) with respect
to its input exactly as with respect to its weights. A conditional G (models.conditional) also
takes the class of each image, ``labels``.
"""
from dataclasses import dataclass

import numpy

from scratchgan import backend as B
from scratchgan.optim import Adam
from scratchgan.tensor import Tensor, no_grad
from scratchgan.trainer import generate_images

MASKS = ("center", "left", "right", "top", "bottom", "random")


# -- walking the latent space --
def slerp(z0, z1, t):
    """The great-circle path from z0 to z1 at fractions t (T,): (T, d) for rows z0, z1 (d,).

    High-dimensional Gaussian latents lie near a sphere of radius √d; the straight line between
    two of them dips inside it, where G has seen few z, and slerp keeps to the shell (White 2016).
    """
    z0, z1, t = numpy.asarray(z0, numpy.float64), numpy.asarray(z1, numpy.float64), numpy.asarray(t)
    cos = numpy.dot(z0, z1) / (numpy.linalg.norm(z0) * numpy.linalg.norm(z1))
    omega = numpy.arccos(numpy.clip(cos, -1.0, 1.0))
    if omega < 1e-6:  # (anti)parallel rows: the straight line is the arc
        return ((1 - t)[:, None] * z0 + t[:, None] * z1).astype(numpy.float32)
    w0, w1 = numpy.sin((1 - t) * omega) / numpy.sin(omega), numpy.sin(t * omega) / numpy.sin(omega)
    return (w0[:, None] * z0 + w1[:, None] * z1).astype(numpy.float32)


def latent_path(z0, z1, steps, mode="linear"):
    """``steps`` latents (steps, d) from z0 to z1, both ends included: "linear" or "slerp"."""
    if mode not in ("linear", "slerp"):
        raise ValueError(f"interpolation mode must be 'linear' or 'slerp', got {mode!r}")
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    t = numpy.linspace(0.0, 1.0, steps)
    if mode == "slerp":
        return slerp(z0, z1, t)
    z0, z1 = numpy.asarray(z0, numpy.float32), numpy.asarray(z1, numpy.float32)
    return ((1 - t)[:, None] * z0 + t[:, None] * z1).astype(numpy.float32)


def interpolate(G, z0, z1, steps=8, mode="linear", label=None):
    """G's images (steps, C, H, W) along the path from z0 to z1; ``label``: the class a
    conditional G draws all along."""
    z = latent_path(z0, z1, steps, mode)
    return generate_images(G, z, labels=_repeat_label(G, label, steps))


def class_morph(G, z, label_a, label_b, steps=8):
    """A conditional G's images (steps, C, H, W) of one z while its class turns from ``label_a``
    into ``label_b``: the one-hot label blends linearly, as z does in ``interpolate``."""
    n_classes = _classes_of(G)
    t = numpy.linspace(0.0, 1.0, steps, dtype=numpy.float32)[:, None]
    eye = numpy.eye(n_classes, dtype=numpy.float32)
    soft = (1 - t) * eye[_check_label(label_a, n_classes)] + t * eye[_check_label(label_b,
                                                                                   n_classes)]
    zs = numpy.repeat(numpy.asarray(z, numpy.float32).reshape(1, -1), steps, axis=0)
    return generate_images(G, zs, labels=soft)


# -- inversion: the z of an image --
@dataclass
class Inversion:
    """What ``invert`` found, per image: z (N, d), G(z) (N, C, H, W) and its mean squared error
    on the pixels that were compared (in [-1, 1] units)."""
    z: numpy.ndarray
    images: numpy.ndarray
    error: numpy.ndarray


def invert(G, images, labels=None, known=None, steps=300, restarts=4, lr=0.05, prior=1e-3,
           seed=0):
    """Latents z with G(z) close to ``images`` (N, C, H, W), by Adam on z through the frozen G.

    Minimises, per image, mean over the compared pixels of (G(z) − x)² + prior · ‖z‖² / d: the
    second term is the Gaussian prior's −log density (up to a scale), which keeps z where G was
    trained. ``known`` (N or 1, C or 1, H, W; True = compare) restricts the first term to the
    pixels that are known. ``restarts`` starting points per image, all optimised at once as one
    batch; the one with the lowest pixel error is kept.
    """
    x = _check_images(G, images)
    n, d = len(x), G.latent_dim
    if getattr(G, "n_classes", 0) and labels is None:
        raise ValueError("invert: a conditional generator needs the images' labels")
    known = numpy.ones((1, 1) + x.shape[2:], bool) if known is None else numpy.asarray(known, bool)
    weight = numpy.broadcast_to(known, x.shape).astype(numpy.float32)
    counts = weight.reshape(n, -1).sum(1)
    if (counts == 0).any():
        raise ValueError("invert: an image has no known pixel to compare")
    owner = B.backend_of(G.parameters()[0].array)

    def tile(a):  # every image once per restart, restart after restart, on G's backend
        return owner.asarray(numpy.concatenate([a] * restarts))
    target, w = Tensor._wrap(tile(x)), Tensor._wrap(tile(weight / counts[:, None, None, None]))
    y = None if labels is None else tile(numpy.asarray(labels))
    start = numpy.random.default_rng(seed).standard_normal((restarts * n, d), dtype=numpy.float32)
    z = Tensor._wrap(owner.asarray(start), requires_grad=True)
    optimizer = Adam([z], lr=lr)
    with _frozen(G):
        for _ in range(steps):
            fake = G(z) if y is None else G(z, y)
            pixels = ((fake - target) ** 2 * w).reshape(restarts * n, -1).sum(1)
            loss = (pixels + prior * (z * z).mean(1)).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    found = B.to_numpy(z.array)
    reconstructions = generate_images(G, found, labels=None if y is None else B.to_numpy(y))
    errors = (((reconstructions - numpy.concatenate([x] * restarts)) ** 2
               * numpy.concatenate([weight] * restarts)).reshape(restarts * n, -1).sum(1)
              / numpy.concatenate([counts] * restarts))
    best = errors.reshape(restarts, n).argmin(0) * n + numpy.arange(n)
    return Inversion(found[best], reconstructions[best], errors[best])


# -- inpainting: repairing hidden pixels --
@dataclass
class Inpainting:
    """``inpaint``'s result: the repaired images, G's whole images behind them, the hidden mask
    (N, 1, H, W; True = hidden) and the inversion."""
    images: numpy.ndarray
    generated: numpy.ndarray
    hidden: numpy.ndarray
    inversion: Inversion


def inpaint(G, images, hidden, labels=None, border=2, **invert_options):
    """Fill the ``hidden`` pixels (H, W) or (N, 1, H, W), True = hidden, of ``images`` from G.

    Inverts G on the known pixels only, then takes the hidden pixels from G(z*). Across
    ``border`` pixels of the known side of the mask's edge the result fades from the image to
    G(z*), so that no seam shows where the two meet; known pixels further away stay exactly as
    they were. ``invert_options`` go to ``invert`` (steps, restarts, lr, prior, seed).
    """
    x = _check_images(G, images)
    hidden = _check_mask(hidden, x.shape)
    found = invert(G, x, labels, known=~hidden, **invert_options)
    keep = feather(hidden, border)
    return Inpainting(keep * x + (1 - keep) * found.images, found.images, hidden, found)


def feather(hidden, border=2):
    """How much of the original image to keep per pixel (N, 1, H, W): 0 on hidden pixels, rising
    by steps of 1/(border + 1) over the ``border`` known pixels nearest to them, 1 beyond."""
    keep = (~hidden).astype(numpy.float32)
    grown = hidden.copy()
    for ring in range(1, border + 1):
        wider = _dilate(grown)
        keep[wider & ~grown] = ring / (border + 1)
        grown = wider
    return keep


def _dilate(mask):
    """mask grown by one pixel in the 8 directions, (N, 1, H, W)."""
    padded = numpy.pad(mask, ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, w = mask.shape[2:]
    out = numpy.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= padded[:, :, dy:dy + h, dx:dx + w]
    return out


def make_mask(kind, size, seed=0, fraction=0.25):
    """A hidden-pixel mask (H, W), True = hidden, for ``size`` (H, W).

    "center": the middle square covering ``fraction`` of the area; "left", "right", "top",
    "bottom": that half; "random": each pixel hidden with probability 1/2 (seeded).
    """
    h, w = size
    mask = numpy.zeros((h, w), bool)
    if kind == "center":
        side_h, side_w = round(h * fraction ** 0.5), round(w * fraction ** 0.5)
        top, left = (h - side_h) // 2, (w - side_w) // 2
        mask[top:top + side_h, left:left + side_w] = True
    elif kind == "left":
        mask[:, :w // 2] = True
    elif kind == "right":
        mask[:, w // 2:] = True
    elif kind == "top":
        mask[:h // 2] = True
    elif kind == "bottom":
        mask[h // 2:] = True
    elif kind == "random":
        mask = numpy.random.default_rng(seed).random((h, w)) < 0.5
    else:
        raise ValueError(f"unknown mask {kind!r}: expected one of {', '.join(MASKS)} or a PNG")
    return mask


# -- what inpainting is compared with --
def fill_mean(images, hidden, mean_image):
    """The hidden pixels filled with a mean image (C, H, W): the baseline that knows no shapes."""
    hidden = _check_mask(hidden, images.shape)
    return numpy.where(hidden, mean_image[None], images)


def fill_nearest(images, hidden, pool):
    """The hidden pixels filled from the image of ``pool`` (M, C, H, W) closest on the known
    pixels: the baseline that copies instead of generating."""
    hidden = _check_mask(hidden, images.shape)
    known = numpy.broadcast_to(~hidden, images.shape).reshape(len(images), -1).astype(numpy.float32)
    x, p = images.reshape(len(images), -1).astype(numpy.float32), pool.reshape(len(pool), -1)
    # Σ k·(p − x)² = (p²)·k − 2 p·(k·x) + Σ k·x², for every pool image and image at once
    distance = (p * p) @ known.T - 2 * p @ (known * x).T + (known * x * x).sum(1)
    return numpy.where(hidden, pool[distance.argmin(0)], images)


def pixel_errors(result, truth, hidden):
    """(mean squared error on the known pixels, on the hidden ones), per image, with pixels in
    [0, 1]: ((result − truth) / 2)² averaged over each region."""
    hidden = numpy.broadcast_to(_check_mask(hidden, truth.shape), truth.shape)
    squared = ((numpy.asarray(result, numpy.float64) - truth) / 2) ** 2
    flat, h = squared.reshape(len(truth), -1), hidden.reshape(len(truth), -1)
    with numpy.errstate(invalid="ignore", divide="ignore"):
        return (flat * ~h).sum(1) / (~h).sum(1), (flat * h).sum(1) / h.sum(1)


# -- shared checks --
class _frozen:
    """G in eval mode with no parameter gradients inside the block; both restored after."""

    def __init__(self, G):
        self.G = G

    def __enter__(self):
        self.training = self.G.training
        self.flags = [p.requires_grad for p in self.G.parameters()]
        self.G.eval().requires_grad_(False)

    def __exit__(self, *exc):
        self.G.train(self.training)
        for p, flag in zip(self.G.parameters(), self.flags):
            p.requires_grad = flag


def _image_shape(G):
    with no_grad(), _frozen(G):  # zeros: drawing z would advance the backend's random stream
        z = Tensor._wrap(B.backend_of(G.parameters()[0].array).xp.zeros((1, G.latent_dim),
                                                                        B.DTYPE))
        labels = [0] if getattr(G, "n_classes", 0) else None
        return tuple((G(z) if labels is None else G(z, labels)).shape[1:])


def _check_images(G, images):
    x = numpy.asarray(B.to_numpy(images.array if isinstance(images, Tensor) else images),
                      numpy.float32)
    shape = _image_shape(G)
    if x.ndim == 3:
        x = x[None]
    if x.shape[1:] != shape:
        raise ValueError(f"the generator draws images of shape {shape}, got {x.shape[1:]}")
    return x


def _check_mask(hidden, shape):
    hidden = numpy.asarray(hidden, bool)
    if hidden.ndim == 2:
        hidden = hidden[None, None]
    if hidden.ndim != 4 or hidden.shape[2:] != tuple(shape[2:]) or hidden.shape[1] != 1:
        raise ValueError(f"the mask is {hidden.shape[-2:] if hidden.ndim >= 2 else hidden.shape}"
                         f" but the images are {tuple(shape[2:])}: expected a mask of their size")
    return numpy.broadcast_to(hidden, (shape[0], 1) + tuple(shape[2:])).copy()


def _classes_of(G):
    n_classes = getattr(G, "n_classes", 0)
    if not n_classes:
        raise ValueError("class_morph needs a conditional generator (G(z, labels))")
    return n_classes


def _check_label(label, n_classes):
    if not 0 <= int(label) < n_classes:
        raise ValueError(f"label {label}: the generator knows classes 0 to {n_classes - 1}")
    return int(label)


def _repeat_label(G, label, n):
    if not getattr(G, "n_classes", 0):
        if label is not None:
            raise ValueError("this generator is not conditional: it takes no label")
        return None
    if label is None:
        raise ValueError("a conditional generator needs the label to draw")
    return numpy.full(n, _check_label(label, G.n_classes))
