"""Pictures of a training run: sample grids, loss curves, an animated GIF, a live window.

Files are drawn on matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), never
through pyplot, so writing a PNG does not switch the global backend away from the interactive
one that ``--show`` uses.
"""
import csv
import math
import os
import sys

import numpy

from scratchgan import backend as B

HISTORY_COLUMNS = ("epoch", "step", "seconds", "d_loss", "g_loss", "d_real", "d_fake")
NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def image_grid(samples, nrow=None, padding=2, pad_value=128):
    """Images (N, C, H, W) with C = 1 or 3, or (N, H, W), in [-1, 1] -> one uint8 picture:
    (rows·(H+p)+p, nrow·(W+p)+p) for grey images, with a last axis of 3 for colour ones.

    ``nrow`` images per row (default: a square-ish grid); a ``padding``-pixel grey frame keeps
    the black MNIST backgrounds apart. Backend arrays and Tensors are copied to the host.
    """
    samples = numpy.asarray(B.to_numpy(getattr(samples, "array", samples)), dtype=numpy.float32)
    if samples.ndim == 3:
        samples = samples[:, None]
    if samples.ndim != 4 or samples.shape[1] not in (1, 3) or len(samples) == 0:
        raise ValueError(f"image_grid: expected images (N, 1, H, W), (N, 3, H, W) or (N, H, W), "
                         f"got {samples.shape}")
    n, c, h, w = samples.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    pixels = numpy.clip((samples + 1) * 127.5 + 0.5, 0, 255).astype(numpy.uint8)
    tiles = numpy.full((rows * nrow, h, w, c), pad_value, numpy.uint8)
    tiles[:n] = pixels.transpose(0, 2, 3, 1)
    # Each tile followed by its right and bottom frame, then laid out row by row.
    framed = numpy.full((rows, h + padding, nrow, w + padding, c), pad_value, numpy.uint8)
    framed[:, :h, :, :w] = tiles.reshape(rows, nrow, h, w, c).transpose(0, 2, 1, 3, 4)
    grid = numpy.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c),
                      pad_value, numpy.uint8)
    grid[padding:, padding:] = framed.reshape(rows * (h + padding), nrow * (w + padding), c)
    return grid[..., 0] if c == 1 else grid


def save_image(pixels, path):
    """Write a uint8 picture, (H, W) grey or (H, W, 3) colour, as an image file (PNG by the file
    name); returns the path."""
    from PIL import Image  # Pillow comes with matplotlib
    Image.fromarray(pixels).save(path)
    return path


def save_grid(samples, path, nrow=None, scale=1):
    """Write ``image_grid(samples, nrow)`` as a PNG, each pixel a ``scale``-wide square (so that
    a few small images stay visible); returns the path."""
    grid = image_grid(samples, nrow)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return save_image(grid, path)


def save_gif(pngs, path, frame_ms=400):
    """An endlessly looping GIF of the given PNG frames, the last one held a little longer."""
    from PIL import Image
    frames = [Image.open(p) for p in pngs]
    if not frames:
        raise ValueError("save_gif: no frames given")
    mode = "RGB" if any(f.mode not in ("L", "1") for f in frames) else "L"
    frames = [f.convert(mode) for f in frames]
    durations = [frame_ms] * (len(frames) - 1) + [frame_ms * 4]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


def read_history(csv_or_history):
    """Columns of a loss history as float arrays, from metrics.csv, a list of row dicts or a dict
    of columns."""
    if isinstance(csv_or_history, (str, os.PathLike)):
        with open(csv_or_history, newline="") as f:
            rows = list(csv.DictReader(f))
    elif isinstance(csv_or_history, dict):
        return {k: numpy.asarray(v, dtype=float) for k, v in csv_or_history.items()}
    else:
        rows = list(csv_or_history)
    columns = rows[0].keys() if rows else HISTORY_COLUMNS
    return {c: numpy.array([float(r[c]) for r in rows]) for c in columns}


def _agg_figure(**kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def draw_losses(axes_loss, axes_d, history):
    """Loss curves on one pair of axes and what D says on the other: D(x) and D(G(z)) as mean
    probabilities for BCE, mean outputs for the other losses, the critic's Wasserstein estimate
    under WGAN-GP (shared by the file and the live window)."""
    h = read_history(history)
    axes_loss.clear()
    axes_d.clear()
    if len(h.get("step", ())):
        axes_loss.plot(h["step"], h["d_loss"], label="D loss", lw=0.8)
        axes_loss.plot(h["step"], h["g_loss"], label="G loss", lw=0.8)
        if "wasserstein" in h:
            axes_d.plot(h["step"], h["wasserstein"], label="Wasserstein estimate", lw=0.8)
        else:
            axes_d.plot(h["step"], h["d_real"], label="D(x)", lw=0.8)
            axes_d.plot(h["step"], h["d_fake"], label="D(G(z))", lw=0.8)
        axes_loss.legend(loc="upper right")
        axes_d.legend(loc="upper right")
    axes_loss.set_ylabel("loss")
    axes_d.set_xlabel("step")
    if "wasserstein" in h:
        axes_d.set_ylabel("critic(x) − critic(G(z))")
    else:
        axes_d.set_ylabel("mean D output")


def plot_losses(csv_or_history, path):
    """losses.png: D and G losses, and D(x), D(G(z)), against the training step."""
    fig = _agg_figure(figsize=(8, 6), layout="constrained")
    axes_loss, axes_prob = fig.subplots(2, 1, sharex=True)
    draw_losses(axes_loss, axes_prob, csv_or_history)
    fig.savefig(path, dpi=100)
    return path


EVAL_PLOTS = (("frechet_distance", "Fréchet distance (lower is better)"),
              ("classifier_score", "classifier score (higher is better)"),
              ("coverage_kl", "class coverage KL (lower is better)"),
              ("nearest_train_distance", "nearest training image distance"))


def plot_eval_metrics(rows, path):
    """metrics.png: the sample-quality metrics of each evaluation against the epoch."""
    h = read_history(rows)
    fig = _agg_figure(figsize=(9, 6), layout="constrained")
    for ax, (key, title) in zip(fig.subplots(2, 2).ravel(), EVAL_PLOTS):
        if key in h:
            ax.plot(h["epoch"], h[key], marker="o")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
    fig.savefig(path, dpi=100)
    return path


def display_available():
    """Whether pyplot can open a window: a display exists and the backend is interactive."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return False
    import matplotlib
    backend = matplotlib.get_backend().lower()
    return backend not in NON_INTERACTIVE and "inline" not in backend


class LiveWindow:
    """A pyplot window showing the latest sample grid and the loss curves while training runs."""

    def __init__(self, title="scratchgan"):
        import matplotlib.pyplot as plt
        self.plt = plt
        plt.ion()
        self.fig = plt.figure(figsize=(11, 5))
        self.fig.canvas.manager.set_window_title(title)
        grid_spec = self.fig.add_gridspec(2, 2, width_ratios=(1, 1.3))
        self.axes_grid = self.fig.add_subplot(grid_spec[:, 0])
        self.axes_loss = self.fig.add_subplot(grid_spec[0, 1])
        self.axes_prob = self.fig.add_subplot(grid_spec[1, 1], sharex=self.axes_loss)
        self.axes_grid.axis("off")
        self.image = None

    def update(self, grid=None, history=None, title=None):
        if grid is not None:
            if self.image is None:
                self.image = self.axes_grid.imshow(grid, cmap="gray", vmin=0, vmax=255)
            else:
                self.image.set_data(grid)
        if title:
            self.axes_grid.set_title(title)
        if history is not None:
            draw_losses(self.axes_loss, self.axes_prob, history)
        self.plt.pause(0.001)  # lets the GUI event loop draw

    def close(self):
        self.plt.close(self.fig)
