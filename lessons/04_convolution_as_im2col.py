"""Lesson 04: convolution is one matrix product (im2col), and its gradient is its transpose.

A 2-D convolution slides a (C, k, k) kernel over the input and takes a dot product at every
position. Written as loops that is six nested loops - slow in Python. im2col ("image to
columns") copies every k×k patch the kernel will see into one column of a matrix
cols of shape (C·k·k, N·OH·OW). Then all dot products of all O kernels with all patches are a
single matrix product  W.reshape(O, C·k·k) @ cols,  which BLAS runs at full speed.

Because conv2d is linear in x, it is a (huge, sparse) matrix A: y = A x. Its input gradient is
Aᵀ gy, and Aᵀ is what is called a *transposed convolution*. So conv_transpose2d - the layer a
DCGAN generator uses to upsample - is literally the backward pass of conv2d. We check the
adjoint identity  <conv(x), y> = <x, convT(y)>  that defines a transpose.

Output sizes (per side; k kernel, s stride, p padding):
    conv2d:            out = (in + 2p - k) // s + 1
    conv_transpose2d:  out = (in - 1)·s - 2p + k + output_padding
The floor in conv2d maps several input sizes to the same output size; output_padding picks which
one the transpose gives back.

Run:  python lessons/04_convolution_as_im2col.py
"""
import numpy as np

import scratchgan as sg
from scratchgan import functional as F


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


def im2col_by_hand():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)   # N, C, H, W
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)   # O, C, k, k
    stride, padding = 2, 1

    cols, OH, OW = F.im2col(x, 3, 3, stride, padding)
    print(f"input {x.shape}, kernel {w.shape}, stride {stride}, padding {padding}")
    print(f"im2col: cols {cols.shape} = (C·k·k, N·OH·OW) with OH = OW = {OH}")
    y = (w.reshape(4, -1) @ cols).reshape(4, 2, OH, OW).transpose(1, 0, 2, 3)
    print(f"one matmul (4, 27) @ {cols.shape} -> output {y.shape}")

    reference = naive_conv2d(x.astype(np.float64), w.astype(np.float64), stride, padding)
    library = F.conv2d(sg.tensor(x), sg.tensor(w), stride=stride, padding=padding).numpy()
    print(f"max |im2col - loops|    = {np.abs(y - reference).max():.1e}")
    print(f"max |F.conv2d - loops|  = {np.abs(library - reference).max():.1e}  (float32 rounding)")
    np.testing.assert_allclose(y, reference, atol=1e-4)
    np.testing.assert_allclose(library, reference, atol=1e-4)


def transpose_is_the_gradient():
    rng = np.random.default_rng(1)
    x = sg.tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)   # float64 for exactness
    w = sg.tensor(rng.standard_normal((5, 3, 4, 4)))
    y = F.conv2d(x, w, stride=2, padding=1)                                 # (2, 5, 4, 4)
    probe = sg.tensor(rng.standard_normal(y.shape))

    # Adjoint identity: <A x, probe> == <x, Aᵀ probe>. The conv weight (O, C, k, k) is read by
    # conv_transpose2d as (in=O, out=C, k, k): the same array, used the other way round.
    lhs = (y.numpy() * probe.numpy()).sum()
    back = F.conv_transpose2d(probe, w, stride=2, padding=1)
    rhs = (x.numpy() * back.numpy()).sum()
    print(f"\n<conv2d(x), y>            = {lhs:.10f}")
    print(f"<x, conv_transpose2d(y)>  = {rhs:.10f}")
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))

    # And autograd's input gradient of conv2d is that very transposed convolution.
    (gx,) = sg.grad(y, x, grad_outputs=probe)
    print(f"conv2d's input gradient == conv_transpose2d(probe): "
          f"max difference {np.abs(gx.numpy() - back.numpy()).max():.1e}")
    np.testing.assert_allclose(gx.numpy(), back.numpy(), atol=1e-12)


def conv_out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def convT_out(n, k, s, p, op=0):
    return (n - 1) * s - 2 * p + k + op


def dcgan_shapes():
    print("\nshape arithmetic of a DCGAN on 28x28 MNIST")
    # k=4, s=2, p=1 doubles exactly in the generator and halves exactly in the discriminator.
    print(f"  generator, k=4 s=2 p=1:      7 -> {convT_out(7, 4, 2, 1)} -> "
          f"{convT_out(14, 4, 2, 1)}")
    print(f"  discriminator, k=4 s=2 p=1: 28 -> {conv_out(28, 4, 2, 1)} -> {conv_out(14, 4, 2, 1)}")
    assert (convT_out(7, 4, 2, 1), convT_out(14, 4, 2, 1)) == (14, 28)
    # scratchgan.models' DCGAN (the TensorFlow tutorial's) uses k=5, s=2, p=2, and the floor bites:
    # 13 and 14 both go to 7, so the transpose needs output_padding=1 to land on 14, not 13.
    print(f"  k=5 s=2 p=2: conv maps 13 -> {conv_out(13, 5, 2, 2)} and 14 -> "
          f"{conv_out(14, 5, 2, 2)}; transpose of 7 gives {convT_out(7, 5, 2, 2)}, "
          f"with output_padding=1 {convT_out(7, 5, 2, 2, 1)}")

    # The real layers agree with the arithmetic.
    z = sg.tensor(np.zeros((1, 8, 7, 7), np.float32))
    up = sg.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
    up2 = sg.nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1)
    odd = sg.nn.ConvTranspose2d(8, 4, 5, stride=2, padding=2, output_padding=1)
    print(f"  nn.ConvTranspose2d: {z.shape} -> {up(z).shape} -> {up2(up(z)).shape};  "
          f"k=5 with output_padding=1: {odd(z).shape}")
    assert up2(up(z)).shape == (1, 1, 28, 28) and odd(z).shape == (1, 4, 14, 14)


def main():
    im2col_by_hand()
    transpose_is_the_gradient()
    dcgan_shapes()


if __name__ == "__main__":
    main()
