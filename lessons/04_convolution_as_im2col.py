"""Lesson 04: convolution is one matrix product (im2col), and its gradient is its transpose.

A 2-D convolution slides a (C, k, k) kernel over the input and takes a dot product at every
position. Written as loops that is six nested loops - slow in Python. im2col ("image to
columns") copies every k×k patch the kernel will see into one column of a matrix
cols of shape (C·k·k, N·OH·OW). Then all dot products of all O kernels with all patches are a
single matrix product  W.reshape(O, C·k·k) @ cols,  which BLAS runs at full speed. Seen as a
picture, cols is the image k·k times over, each row shifted by one kernel tap.

Because conv2d is linear in x, it is a (huge, sparse) matrix A: y = A x. Its input gradient is
Aᵀ gy, and Aᵀ is what is called a *transposed convolution*. So conv_transpose2d - the layer a
DCGAN generator uses to upsample - is literally the backward pass of conv2d. We check the
adjoint identity  <conv(x), y> = <x, convT(y)>  that defines a transpose.

Output sizes (per side; k kernel, s stride, p padding):
    conv2d:            out = (in + 2p - k) // s + 1
    conv_transpose2d:  out = (in - 1)·s - 2p + k + output_padding
The floor in conv2d maps several input sizes to the same output size; output_padding picks which
one the transpose gives back. With k = 4, s = 2, p = 1 a transposed convolution doubles exactly:
7 -> 14 -> 28, the DCGAN generator's path from a 7×7 map to an MNIST digit.

Builds on: lessons 01 (autograd) and 03 (ops as forward on arrays, backward with Tensor ops).

Run:  python lessons/04_convolution_as_im2col.py [--out /tmp/scratchgan_lessons/04]
"""
# %%
import argparse
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan.data import mnist_dataset
from scratchgan.viz import image_grid

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 04: convolution as im2col")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/04", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="the same lesson (it takes seconds)")
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick  # nothing here is slow: quick mode runs the whole lesson
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)


def naive_conv2d(x, w, stride, padding):
    """The definition, as loops over output positions (fine here; hopeless for training)."""
    N, C, H, W = x.shape
    O, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    OH, OW = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    y = np.zeros((N, O, OH, OW))
    for i in range(OH):
        for j in range(OW):
            patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]  # (N, C, k, k)
            y[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return y


# %% [markdown]
# ## im2col by hand
# Random input and kernels; the library's im2col, one matrix product, and the loops agree.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)   # N, C, H, W
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)   # O, C, k, k
stride, padding = 2, 1

cols, OH, OW = F.im2col(x, 3, 3, stride, padding)
print(f"input {x.shape}, kernel {w.shape}, stride {stride}, padding {padding}")
print(f"im2col: cols {cols.shape} = (C·k·k, N·OH·OW) with OH = OW = {OH}")
assert cols.shape == (3 * 3 * 3, 2 * OH * OW) and OH == OW == 4
y = (w.reshape(4, -1) @ cols).reshape(4, 2, OH, OW).transpose(1, 0, 2, 3)
print(f"one matmul (4, 27) @ {cols.shape} -> output {y.shape}")

reference = naive_conv2d(x.astype(np.float64), w.astype(np.float64), stride, padding)
library = F.conv2d(sg.tensor(x), sg.tensor(w), stride=stride, padding=padding).numpy()
print(f"max |im2col - loops|    = {np.abs(y - reference).max():.1e}")
print(f"max |F.conv2d - loops|  = {np.abs(library - reference).max():.1e}  (float32 rounding)")
np.testing.assert_allclose(y, reference, atol=1e-4)
np.testing.assert_allclose(library, reference, atol=1e-4)

# %% [markdown]
# ## The same on a digit
# One MNIST digit, one 3×3 edge kernel (a Sobel filter: positive where brightness rises to the
# right), stride 1 and padding 1: cols is (9, 784), one row per kernel tap, and each row is the
# whole digit shifted by that tap. The figure shows each row as a 28×28 picture. Pixels go to
# [0, 1] here, so that the zero padding is the black background, not a bright frame.

# %%
digit = (mnist_dataset(split="test", limit=1)[0] + 1) / 2         # (1, 1, 28, 28) in [0, 1]
sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32).reshape(1, 1, 3, 3)
digit_cols, _, _ = F.im2col(digit, 3, 3, 1, 1)
edges = (sobel.reshape(1, 9) @ digit_cols).reshape(28, 28)
edges_loops = naive_conv2d(digit.astype(np.float64), sobel.astype(np.float64), 1, 1)[0, 0]
print(f"\ndigit: cols {digit_cols.shape}; max |im2col - loops| on the edge map = "
      f"{np.abs(edges - edges_loops).max():.1e}")
assert digit_cols.shape == (9, 784)
np.testing.assert_allclose(edges, edges_loops, atol=1e-4)
# The centre tap's row (tap 4 of 0..8) is the digit itself; tap 0 is it shifted down-right by one.
np.testing.assert_array_equal(digit_cols[4], digit.reshape(-1))
np.testing.assert_array_equal(digit_cols[0].reshape(28, 28)[1:, 1:], digit[0, 0, :-1, :-1])

# %% [markdown]
# ## The transpose is the gradient
# Adjoint identity: <A x, probe> == <x, Aᵀ probe>. The conv weight (O, C, k, k) is read by
# conv_transpose2d as (in=O, out=C, k, k): the same array, used the other way round. float64 so
# that the two sides agree to 1e-9.

# %%
rng = np.random.default_rng(1)
xa = sg.tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)
wa = sg.tensor(rng.standard_normal((5, 3, 4, 4)))
ya = F.conv2d(xa, wa, stride=2, padding=1)                                 # (2, 5, 4, 4)
probe = sg.tensor(rng.standard_normal(ya.shape))
lhs = (ya.numpy() * probe.numpy()).sum()
back = F.conv_transpose2d(probe, wa, stride=2, padding=1)
rhs = (xa.numpy() * back.numpy()).sum()
print(f"\n<conv2d(x), y>            = {lhs:.10f}")
print(f"<x, conv_transpose2d(y)>  = {rhs:.10f}")
assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))

# And autograd's input gradient of conv2d is that very transposed convolution.
(gx,) = sg.grad(ya, xa, grad_outputs=probe)
print(f"conv2d's input gradient == conv_transpose2d(probe): "
      f"max difference {np.abs(gx.numpy() - back.numpy()).max():.1e}")
np.testing.assert_allclose(gx.numpy(), back.numpy(), atol=1e-12)

# %% [markdown]
# ## Output sizes: 7 -> 14 -> 28
# k=4, s=2, p=1 doubles exactly in the generator and halves exactly in the discriminator.
# scratchgan.models' DCGAN (the TensorFlow tutorial's) uses k=5, s=2, p=2, and the floor bites:
# 13 and 14 both go to 7, so the transpose needs output_padding=1 to land on 14, not 13.

# %%


def conv_out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def convT_out(n, k, s, p, op=0):
    return (n - 1) * s - 2 * p + k + op


print(f"\ngenerator, k=4 s=2 p=1:      7 -> {convT_out(7, 4, 2, 1)} -> {convT_out(14, 4, 2, 1)}")
print(f"discriminator, k=4 s=2 p=1: 28 -> {conv_out(28, 4, 2, 1)} -> {conv_out(14, 4, 2, 1)}")
assert (convT_out(7, 4, 2, 1), convT_out(14, 4, 2, 1)) == (14, 28)
assert (conv_out(28, 4, 2, 1), conv_out(14, 4, 2, 1)) == (14, 7)
print(f"k=5 s=2 p=2: conv maps 13 -> {conv_out(13, 5, 2, 2)} and 14 -> {conv_out(14, 5, 2, 2)}; "
      f"transpose of 7 gives {convT_out(7, 5, 2, 2)}, with output_padding=1 "
      f"{convT_out(7, 5, 2, 2, 1)}")
assert conv_out(13, 5, 2, 2) == conv_out(14, 5, 2, 2) == 7
assert (convT_out(7, 5, 2, 2), convT_out(7, 5, 2, 2, 1)) == (13, 14)

# The real layers agree with the arithmetic. With the bilinear kernel [1, 3, 3, 1]/4 (per axis)
# a k=4, s=2, p=1 transposed convolution is plain 2x upsampling: we grow a 7×7 version of the
# digit (each pixel the mean of a 4×4 block) back to 14×14 and 28×28. A DCGAN's generator learns
# its kernels instead, and many channels of them.
up = sg.nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1, bias=False)
taps = np.array([1, 3, 3, 1], np.float32) / 4
up.weight.data = sg.tensor(np.outer(taps, taps).reshape(1, 1, 4, 4))
small = sg.tensor(digit.reshape(1, 1, 7, 4, 7, 4).mean(axis=(3, 5)))    # (1, 1, 7, 7)
with sg.no_grad():
    mid = up(small)
    big = up(mid)
odd = sg.nn.ConvTranspose2d(8, 4, 5, stride=2, padding=2, output_padding=1)
print(f"nn.ConvTranspose2d: {small.shape} -> {mid.shape} -> {big.shape};  "
      f"k=5 with output_padding=1: {odd(sg.tensor(np.zeros((1, 8, 7, 7), np.float32))).shape}")
assert mid.shape == (1, 1, 14, 14) and big.shape == (1, 1, 28, 28)
# Away from the border, the upsampled digit is close to the original (it lost only detail).
inner = (slice(2, -2), slice(2, -2))
blur_error = np.abs(big.numpy()[0, 0][inner] - digit[0, 0][inner]).mean()
print(f"mean |upsampled 7x7 - original| inside the border: {blur_error:.2f} (pixels in [0, 1])")
assert blur_error < 0.2

# %% [markdown]
# ## The figure
# Top: the digit, its im2col matrix (9 rows of 784, each shown as a 28×28 tile: the digit shifted
# by one kernel tap), the edge map as one matrix product and as loops. Bottom: the digit at 7×7
# grown to 14×14 and 28×28 by one transposed convolution each.

# %%
fig, axes = plt.subplots(2, 4, figsize=(14, 6.5))
panels = [(digit[0, 0], "the digit (28×28)", "gray"),
          (image_grid(2 * digit_cols.reshape(9, 1, 28, 28) - 1, nrow=3, padding=1),
           "im2col: the 9 rows of cols (9, 784)\neach as 28×28: the digit, shifted", "gray"),
          (edges, "Sobel edges: sobel (1, 9) @ cols", "RdBu_r"),
          (edges_loops, f"the same by loops\nmax difference "
                        f"{np.abs(edges - edges_loops).max():.0e}", "RdBu_r"),
          (small.numpy()[0, 0], f"7×7 {tuple(small.shape)}", "gray"),
          (mid.numpy()[0, 0], f"14×14 {tuple(mid.shape)}", "gray"),
          (big.numpy()[0, 0], f"28×28 {tuple(big.shape)}", "gray"),
          (digit[0, 0], "the original 28×28", "gray")]
for ax, (image, title, cmap) in zip(axes.flat, panels):
    if cmap == "RdBu_r":
        vmin, vmax = -np.abs(image).max(), np.abs(image).max()
    else:
        vmin, vmax = (0, 255) if image.dtype == np.uint8 else (0, 1)
    ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
axes[1, 0].set_ylabel("conv_transpose2d\nk=4 s=2 p=1", fontsize=10)
fig.suptitle("Convolution as one matrix product (top); the transposed convolution "
             "upsamples 7 -> 14 -> 28 (bottom)")
fig.tight_layout()
figure = OUT / "im2col.png"
fig.savefig(figure, dpi=100)
print(f"\nfigure: {figure}")

# %% Try this
# 1. Change the digit's convolution to stride=2: predict the shape of digit_cols (9, 196) and of
#    the edge map (14×14) before running, then fix the reshape.
# 2. Transpose the Sobel kernel (`sobel.transpose(0, 1, 3, 2)`): which edges light up now? Then
#    check the adjoint identity with k=5, s=2, p=2 and an 8×8 input.
# 3. Use `taps = np.array([0, 1, 1, 0])` in the upsampling layer: the result is nearest-neighbour
#    upsampling (blocks of 2×2). Predict blur_error before running: larger or smaller?
