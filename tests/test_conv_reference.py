"""conv2d, conv_transpose2d and conv2d_weight against naive loops written from the definitions,
and conv_transpose2d as the adjoint of conv2d.

The references loop over every n, c, h, w, kh, kw in float64: slow, obviously right, and only
ever run on tiny drawn shapes.
"""
import numpy
from hypothesis import given
from hypothesis import strategies as st

from scratchgan import functional as F
from scratchgan import nn
from scratchgan.tensor import Tensor
from strategies import arrays, conv_geometries, conv_transpose_geometries, viewed_array


def pad(x, p):
    N, C, H, W = x.shape
    out = numpy.zeros((N, C, H + 2 * p, W + 2 * p))
    out[:, :, p:p + H, p:p + W] = x
    return out


def conv2d_reference(x, w, b, stride, padding):
    """y[n, o, i, j] = b[o] + Σ_c,u,v w[o, c, u, v] · x_padded[n, c, i·s + u, j·s + v]."""
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = pad(x, padding)
    OH, OW = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    y = numpy.zeros((N, O, OH, OW))
    for n in range(N):
        for o in range(O):
            for i in range(OH):
                for j in range(OW):
                    total = 0.0 if b is None else b[o]
                    for c in range(C):
                        for u in range(kh):
                            for v in range(kw):
                                total += w[o, c, u, v] * xp[n, c, i * stride + u, j * stride + v]
                    y[n, o, i, j] = total
    return y


def conv_transpose2d_reference(x, w, b, stride, padding, output_padding):
    """Each input pixel x[n, c, i, j] stamps w[c, o] · x[n, c, i, j] at (i·s, j·s); then crop the
    padding."""
    N, C, H, W = x.shape
    _, O, kh, kw = w.shape
    OH = (H - 1) * stride - 2 * padding + kh + output_padding
    OW = (W - 1) * stride - 2 * padding + kw + output_padding
    full = numpy.zeros((N, O, max((H - 1) * stride + kh, padding + OH),
                        max((W - 1) * stride + kw, padding + OW)))
    for n in range(N):
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    for o in range(O):
                        for u in range(kh):
                            for v in range(kw):
                                full[n, o, i * stride + u, j * stride + v] += (x[n, c, i, j]
                                                                               * w[c, o, u, v])
    y = full[:, :, padding:padding + OH, padding:padding + OW]
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def conv2d_weight_reference(x, gy, k, stride, padding):
    """dW[o, c, u, v] = Σ_n,i,j gy[n, o, i, j] · x_padded[n, c, i·s + u, j·s + v]."""
    N, C = x.shape[:2]
    O, OH, OW = gy.shape[1:]
    xp = pad(x, padding)
    gw = numpy.zeros((O, C, k, k))
    for o in range(O):
        for c in range(C):
            for u in range(k):
                for v in range(k):
                    for n in range(N):
                        for i in range(OH):
                            for j in range(OW):
                                gw[o, c, u, v] += (gy[n, o, i, j]
                                                   * xp[n, c, i * stride + u, j * stride + v])
    return gw


@given(data=st.data(), bias=st.booleans())
def test_conv2d_matches_loops(data, bias):
    g = data.draw(conv_geometries())
    view, base = data.draw(viewed_array((g.N, g.C_in, g.H, g.W)))
    w = data.draw(arrays((g.C_out, g.C_in, g.k, g.k)))
    b = data.draw(arrays((g.C_out,))) if bias else None
    got = F.conv2d(view(Tensor(base)), Tensor(w), None if b is None else Tensor(b), g.stride,
                   g.padding)
    expected = conv2d_reference(view(base), w, b, g.stride, g.padding)
    assert got.shape == expected.shape == (g.N, g.C_out) + g.conv_out
    numpy.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)


@given(data=st.data(), bias=st.booleans())
def test_conv_transpose2d_matches_loops(data, bias):
    g = data.draw(conv_transpose_geometries())
    view, base = data.draw(viewed_array((g.N, g.C_in, g.H, g.W)))
    w = data.draw(arrays((g.C_in, g.C_out, g.k, g.k)))
    b = data.draw(arrays((g.C_out,))) if bias else None
    got = F.conv_transpose2d(view(Tensor(base)), Tensor(w), None if b is None else Tensor(b),
                             g.stride, g.padding, g.output_padding)
    expected = conv_transpose2d_reference(view(base), w, b, g.stride, g.padding, g.output_padding)
    assert got.shape == expected.shape == (g.N, g.C_out) + g.transpose_out
    numpy.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)


@given(data=st.data())
def test_conv2d_weight_matches_loops(data):
    g = data.draw(conv_geometries())
    x = data.draw(arrays((g.N, g.C_in, g.H, g.W)))
    gy = data.draw(arrays((g.N, g.C_out) + g.conv_out))
    got = F.conv2d_weight(Tensor(x), Tensor(gy), (g.k, g.k), g.stride, g.padding)
    numpy.testing.assert_allclose(got.numpy(),
                                  conv2d_weight_reference(x, gy, g.k, g.stride, g.padding),
                                  rtol=1e-10, atol=1e-12)


@st.composite
def adjoint_geometries(draw):
    """A conv2d whose input size conv_transpose2d can give back with one output_padding for
    H and W."""
    g = draw(conv_geometries())
    # W = H + stride·d leaves (W + 2p − k) mod stride equal to H's, so one output_padding fits both.
    lo = max(1, g.k - 2 * g.padding)
    H = max(g.H, lo)
    W = H + g.stride * draw(st.integers(0, 1))
    return type(g)(N=g.N, C_in=g.C_in, C_out=g.C_out, H=H, W=W, k=g.k, stride=g.stride,
                   padding=g.padding)


@given(data=st.data())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(data):
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)> for every x and y: the transpose in
    its name."""
    g = data.draw(adjoint_geometries())
    OH, OW = g.conv_out
    output_padding = g.H + 2 * g.padding - g.k - (OH - 1) * g.stride
    assert output_padding == g.W + 2 * g.padding - g.k - (OW - 1) * g.stride
    x = data.draw(arrays((g.N, g.C_in, g.H, g.W)))
    w = data.draw(arrays((g.C_out, g.C_in, g.k, g.k)))
    y = data.draw(arrays((g.N, g.C_out, OH, OW)))
    forward = F.conv2d(Tensor(x), Tensor(w), None, g.stride, g.padding).numpy()
    back = F.conv_transpose2d(Tensor(y), Tensor(w), None, g.stride, g.padding,
                              output_padding).numpy()
    assert back.shape == x.shape
    numpy.testing.assert_allclose((forward * y).sum(), (x * back).sum(), rtol=1e-9, atol=1e-9)


@given(data=st.data())
def test_float32_layers_match_loops(data):
    """The layers in their float32 hot path, against the float64 loops."""
    g = data.draw(conv_geometries())
    x = data.draw(arrays((g.N, g.C_in, g.H, g.W))).astype(numpy.float32)
    conv = nn.Conv2d(g.C_in, g.C_out, g.k, g.stride, g.padding)
    y = conv(Tensor(x))
    assert y.dtype == numpy.float32
    expected = conv2d_reference(x, conv.weight.numpy(), conv.bias.numpy(), g.stride, g.padding)
    numpy.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-5)

    t = data.draw(conv_transpose_geometries())
    x = data.draw(arrays((t.N, t.C_in, t.H, t.W))).astype(numpy.float32)
    deconv = nn.ConvTranspose2d(t.C_in, t.C_out, t.k, t.stride, t.padding, t.output_padding)
    y = deconv(Tensor(x))
    assert y.dtype == numpy.float32
    expected = conv_transpose2d_reference(x, deconv.weight.numpy(), deconv.bias.numpy(), t.stride,
                                          t.padding, t.output_padding)
    numpy.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_conv2d_known_values():
    """A hand-computed case: a 3x3 ramp, a 2x2 kernel of ones, stride 1, no padding."""
    x = Tensor(numpy.arange(9.0).reshape(1, 1, 3, 3))
    y = F.conv2d(x, Tensor(numpy.ones((1, 1, 2, 2))))
    numpy.testing.assert_array_equal(y.numpy(), [[[[8.0, 12.0], [20.0, 24.0]]]])


GRID = [(k, s, p) for k in (1, 2, 3) for s in (1, 2, 3) for p in (0, 1, 2)]


def test_every_stride_padding_and_output_padding():
    """The whole grid every run (hypothesis samples it): odd and even sizes, batch 1 and 2."""
    rng = numpy.random.default_rng(0)
    for k, s, p in GRID:
        x = rng.standard_normal((2, 2, 5, 4))
        w = rng.standard_normal((3, 2, k, k))
        got = F.conv2d(Tensor(x), Tensor(w), None, s, p).numpy()
        numpy.testing.assert_allclose(got, conv2d_reference(x, w, None, s, p), rtol=1e-10,
                                      atol=1e-12, err_msg=f"conv2d k={k} stride={s} padding={p}")
        for output_padding in range(s):
            y = rng.standard_normal((1, 2, 3, 2))
            wt = rng.standard_normal((2, 3, k, k))
            if (2 - 1) * s - 2 * p + k + output_padding <= 0:
                continue
            got = F.conv_transpose2d(Tensor(y), Tensor(wt), None, s, p, output_padding).numpy()
            numpy.testing.assert_allclose(got, conv_transpose2d_reference(y, wt, None, s, p,
                                                                          output_padding),
                                          rtol=1e-10, atol=1e-12,
                                          err_msg=f"conv_transpose2d k={k} stride={s} padding={p} "
                                                  f"output_padding={output_padding}")
