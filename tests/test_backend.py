"""Backend independence: every op, layer and optimizer step gives NumPy's results on a device
backend, and everything it leaves behind (values, gradients, buffers, optimizer state) stays on
that device.

The device is tests/fake_device.py's strict fake, which fails on any stray ``numpy.`` call on a
data array, so CI without a GPU catches them; and real CuPy when a CUDA device exists (marked gpu).
"""
import numpy
import pytest

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import gradcheck, nn, optim
from scratchgan.tensor import Function, Tensor, grad
from fake_device import DEVICES, FAKE, STEP_TOLERANCE, TOLERANCE, FakeArray, xp as fake_xp


@pytest.fixture(params=DEVICES)
def device(request):
    """The name of a device backend; the active backend is NumPy again after the test."""
    yield request.param
    B.use_backend("numpy")


def assert_on(device, t, what):
    array_type = B.get_backend(device).array_type
    assert isinstance(t.array, array_type), (f"{what}: {type(t.array).__name__}, "
                                            f"not {array_type.__name__}")


def assert_close(got, expected, device, what, tolerance=TOLERANCE):
    numpy.testing.assert_allclose(B.to_numpy(got.array), B.to_numpy(expected.array), err_msg=what,
                                  **tolerance[device])


# -- the fake is strict --

def test_fake_refuses_implicit_numpy():
    fake = fake_xp.asarray([1.0, 2.0])
    host = numpy.ones(2)
    with pytest.raises(TypeError):
        numpy.asarray(fake)
    with pytest.raises(TypeError):
        host + fake
    with pytest.raises(TypeError):
        fake + host
    with pytest.raises(TypeError):
        fake *= host
    with pytest.raises(TypeError):
        numpy.exp(fake)
    with pytest.raises(TypeError):
        numpy.concatenate([fake, fake])
    with pytest.raises(TypeError):
        numpy.add.at(fake, [0], 1.0)
    with pytest.raises(TypeError):
        numpy.lib.stride_tricks.as_strided(fake, (2,), (8,))
    with pytest.raises(TypeError):
        fake[...] = host
    with pytest.raises(TypeError):
        host[...] = fake
    with pytest.raises(TypeError):
        fake_xp.exp(host)  # the device module refuses host arrays, as cupy.exp does
    with pytest.raises(TypeError):
        B.Backend.to_numpy(FAKE, fake)  # the NumPy backend's own conversion cannot read it


def test_fake_allows_what_cupy_allows():
    fake = fake_xp.asarray(numpy.array([1.0, -2.0, 3.0], dtype=numpy.float32))
    assert isinstance(fake, FakeArray) and fake.dtype == numpy.float32 and fake.shape == (3,)
    for result in (fake + 1, 2.0 * fake, fake / numpy.float32(2), numpy.float32(2) * fake, -fake,
                   fake ** 2, abs(fake), fake[[0, 0]], fake[numpy.array([1])], fake.T,
                   fake.reshape(3, 1), fake.sum(), fake.max(), fake_xp.maximum(fake, 0),
                   (fake > 0) & (fake < 3), ~(fake > 0)):
        assert isinstance(result, FakeArray)
    assert fake.sum().shape == () and float(fake.sum()) == 2.0 and fake[2].item() == 3.0
    assert (bool(fake_xp.asarray([1.0])) and len(fake) == 3
            and [r.item() for r in fake] == [1.0, -2.0, 3.0])
    with pytest.raises(ValueError):
        bool(fake)
    view = fake[1:]
    view += 10.0  # in place through a view, as on a device
    numpy.testing.assert_array_equal(FAKE.to_numpy(fake), [1.0, 8.0, 13.0])
    copy = fake_xp.asarray(host := numpy.zeros(2))
    host[0] = 5.0  # asarray copied the host data to the "device"
    assert FAKE.to_numpy(copy)[0] == 0.0


def test_fake_catches_a_stray_numpy_call():
    """A Function that calls numpy.exp on its array works on NumPy and fails on the fake device."""
    class NumpyExp(Function):
        def forward(self, x):
            return numpy.exp(x)

    assert NumpyExp()(Tensor([0.0])).item() == 1.0
    with pytest.raises(TypeError):
        NumpyExp()(Tensor(fake_xp.asarray([0.0], dtype=numpy.float32)))


def test_mixing_devices_fails():
    with pytest.raises(TypeError):
        Tensor(fake_xp.asarray([1.0], dtype=numpy.float32)) + Tensor([1.0])


def test_gpu_backend_is_skipped_or_available():
    """The cupy parameter is skipped with a reason where CuPy or a GPU is missing, never broken."""
    from fake_device import cupy_unavailable_reason
    reason = cupy_unavailable_reason()
    if reason is None:
        assert B.get_backend("cupy").name == "cupy"
    else:
        assert "CuPy" in reason or "CUDA" in reason


# -- every op --

def normal(*shape):
    return ("normal", shape)


def positive(*shape):
    return ("positive", shape)


def probability(*shape):
    return ("probability", shape)


def draw(rng, spec):
    kind, shape = spec
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape).astype(numpy.float32)
    if kind == "probability":
        return rng.uniform(0.1, 0.9, shape).astype(numpy.float32)
    return rng.standard_normal(shape).astype(numpy.float32)


def batch_norm_with_stats(x, w, b):
    C = x.shape[1]
    running_mean = Tensor(B.xp.zeros(C, dtype=numpy.float32))
    running_var = Tensor(B.xp.ones(C, dtype=numpy.float32))
    y = F.batch_norm(x, running_mean, running_var, w, b, training=True)
    return y + F.batch_norm(x, running_mean, running_var, w, b, training=False)


OPS = {
    "add": ([normal(2, 3), normal(3)], lambda a, b: F.add(a, b)),
    "sub": ([normal(2, 1, 3), normal(4, 1)], lambda a, b: F.sub(a, b)),
    "mul": ([normal(2, 3), normal(2, 3)], lambda a, b: F.mul(a, b)),
    "div": ([normal(2, 3), positive(3)], lambda a, b: F.div(a, b)),
    "python_scalars": ([positive(2, 3)],
                       lambda a: (2.0 - a) * 3 + 1 / a - a / 4.0 + (a ** 2) * 0.5),
    "neg": ([normal(3)], F.neg),
    "pow": ([positive(2, 2)], lambda a: F.pow(a, 1.5) + a ** -1),
    "matmul": ([normal(3, 4), normal(4, 2)], F.matmul),
    "matmul_batched": ([normal(2, 1, 3, 4), normal(3, 4, 2)], lambda a, b: a @ b),
    "sum": ([normal(2, 3, 4)], lambda a: F.sum(a, (0, 2)) + F.sum(a, -1, True).sum()),
    "mean": ([normal(2, 3, 4)], lambda a: F.mean(a, 1, keepdims=True) * a.mean()),
    "reshape": ([normal(2, 6)], lambda a: F.reshape(a.T, (3, 4))),
    "transpose": ([normal(2, 3, 4)], lambda a: F.transpose(a, (2, 0, 1))),
    "broadcast_to": ([normal(3, 1)], lambda a: F.broadcast_to(a, (2, 3, 4))),
    "getitem_basic": ([normal(4, 5)], lambda a: a[1:, ::2] + a[-1, None, :3].sum()),
    "getitem_fancy": ([normal(4, 3)],
                      lambda a: a[[0, 2, 0, 0]] * 2.0 + a[numpy.array([3, 3]), [1, 1]].sum()),
    "concat": ([normal(2, 3), normal(2, 1)], lambda a, b: F.concat([a, b], axis=1)),
    "exp": ([normal(5)], F.exp),
    "log": ([positive(5)], F.log),
    "sqrt": ([positive(5)], F.sqrt),
    "tanh": ([normal(5)], F.tanh),
    "sigmoid": ([normal(5)], F.sigmoid),
    "relu": ([normal(2, 5)], F.relu),
    "leaky_relu": ([normal(2, 5)], lambda a: F.leaky_relu(a, 0.2) + F.leaky_relu(a, 1.5)),
    "softplus": ([normal(5)], F.softplus),
    "log_sigmoid": ([normal(5)], F.log_sigmoid),
    "clamp": ([normal(2, 5)], lambda a: F.clamp(a, -0.5, 0.5) + F.clamp(a, min=0.0)),
    "dropout": ([normal(4, 5)], lambda a: F.dropout(a, 0.5)),
    "linear": ([normal(3, 4), normal(2, 4), normal(2)], F.linear),
    "conv2d": ([normal(2, 3, 5, 5), normal(4, 3, 3, 3), normal(4)],
               lambda x, w, b: F.conv2d(x, w, b, 2, 1)),
    "conv_transpose2d": ([normal(2, 3, 3, 3), normal(3, 2, 4, 4), normal(2)],
                         lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1)),
    "conv2d_weight": ([normal(2, 3, 5, 5), normal(2, 4, 3, 3)],
                      lambda x, gy: F.conv2d_weight(x, gy, (3, 3), 2, 1)),
    "batch_norm_NC": ([normal(4, 3), positive(3), normal(3)],
                      lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
    "batch_norm_NCHW": ([normal(2, 3, 2, 2), positive(3), normal(3)], batch_norm_with_stats),
    "binary_cross_entropy": ([probability(4, 1), probability(4, 1)], F.binary_cross_entropy),
    "binary_cross_entropy_with_logits": (
        [normal(4, 1)], lambda z: F.binary_cross_entropy_with_logits(z, numpy.ones((4, 1)))),
    "mse_loss": ([normal(3, 2), normal(3, 2)], lambda a, b: F.mse_loss(a, b, "sum")),
    "log_softmax": ([normal(3, 4)], lambda a: F.log_softmax(a, 1) + F.softmax(a, 0)),
    "cross_entropy": ([normal(3, 4)], lambda a: F.cross_entropy(a, numpy.array([0, 3, 3]))),
}


def run_op(name, backend):
    """Forward and backward of OPS[name] on ``backend``, from the same host data every time."""
    specs, fn = OPS[name]
    target = B.use_backend(backend)
    B.seed(0)
    rng = numpy.random.default_rng(0)
    inputs = [Tensor(target.asarray(draw(rng, s)), requires_grad=True) for s in specs]
    out = fn(*inputs)
    out.backward(Tensor(target.asarray(rng.standard_normal(out.shape).astype(numpy.float32))))
    B.use_backend("numpy")
    return out, inputs


def check_dropout(out, x, p=0.5):
    """A device's own random stream: kept elements are x/(1 − p), and the gradient shares the
    mask."""
    y, xs, g = (B.to_numpy(a) for a in (out.array, x.array, x.grad.array))
    kept = y != 0
    numpy.testing.assert_allclose(y[kept], xs[kept] / (1 - p), rtol=1e-6)
    assert ((g != 0) == kept).all() and 0 < kept.sum() < kept.size


@pytest.mark.parametrize("name", OPS)
def test_op_matches_numpy(device, name):
    expected, expected_inputs = run_op(name, "numpy")
    out, inputs = run_op(name, device)
    assert_on(device, out, f"{name} output")
    assert out.dtype == expected.dtype == numpy.float32 and out.shape == expected.shape
    for i, x in enumerate(inputs):
        assert_on(device, x.grad, f"{name} gradient {i}")
        assert x.grad.dtype == numpy.float32
    if name == "dropout" and device != "fake":  # only the fake shares NumPy's random stream
        return check_dropout(out, inputs[0])
    assert_close(out, expected, device, f"{name} output")
    for i, (x, ex) in enumerate(zip(inputs, expected_inputs)):
        assert_close(x.grad, ex.grad, device, f"{name} gradient {i}")


def test_comparisons_stay_on_device(device):
    t = Tensor(B.get_backend(device).asarray(numpy.array([1.0, -1.0], dtype=numpy.float32)))
    for mask in (t > 0, t <= 0.5, t == t):
        assert isinstance(mask, B.get_backend(device).array_type)


# -- every layer --

LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3), normal(2, 4)),
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), normal(2, 2, 5, 5)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1, output_padding=1),
                        normal(2, 3, 3, 3)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), normal(4, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(2), normal(3, 2, 2, 2)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), normal(2, 5)),
    "ReLU": (nn.ReLU, normal(2, 5)),
    "Tanh": (nn.Tanh, normal(2, 5)),
    "Sigmoid": (nn.Sigmoid, normal(2, 5)),
    "Dropout": (lambda: nn.Dropout(0.5), normal(4, 5)),
    "Flatten": (nn.Flatten, normal(2, 2, 3)),
    "Reshape": (lambda: nn.Reshape(2, 3), normal(2, 6)),
    "Generator": (lambda: nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                        nn.Reshape(2, 2, 2), nn.ConvTranspose2d(2, 1, 4, 2, 1),
                                        nn.Tanh()), normal(3, 3)),
    "Critic": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), nn.BatchNorm2d(2), nn.LeakyReLU(0.2),
                                     nn.Dropout(0.3), nn.Flatten(), nn.Linear(8, 1), nn.Sigmoid()),
               normal(3, 1, 4, 4)),
}


def run_layer(name, backend, state=None):
    """Two training calls, one evaluation call and a backward of ``name`` on ``backend``."""
    build, spec = LAYERS[name]
    target = B.use_backend(backend)
    B.seed(0)
    layer = build()
    for pname, p in layer.named_parameters():
        assert_on(backend, p, f"{name}.{pname} as created")
    if state is not None:
        layer.load_state_dict(state)  # the same weights on every backend (CuPy draws its own)
    rng = numpy.random.default_rng(0)
    x = Tensor(target.asarray(draw(rng, spec)), requires_grad=True)
    layer(x)
    out = layer(x) * 1.0
    layer.eval()
    out = out + layer(x).sum() * 0.5
    layer.train()
    out.backward(Tensor(target.asarray(rng.standard_normal(out.shape).astype(numpy.float32))))
    B.use_backend("numpy")
    return layer, out, x


@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_numpy(device, name):
    B.seed(0)
    state = LAYERS[name][0]().state_dict()
    expected_layer, expected, expected_x = run_layer(name, "numpy", state)
    layer, out, x = run_layer(name, device, state)
    assert_on(device, out, f"{name} output")
    assert_on(device, x.grad, f"{name} input gradient")
    for pname, p in layer.named_parameters():
        assert_on(device, p, pname)
        assert_on(device, p.grad, f"{pname}.grad")
        assert p.dtype == p.grad.dtype == numpy.float32
    for bname, b in layer.named_buffers():
        assert_on(device, b, bname)
    if "Dropout" in repr(layer) and device != "fake":
        return
    assert_close(out, expected, device, f"{name} output")
    assert_close(x.grad, expected_x.grad, device, f"{name} input gradient")
    for (pname, p), (_, ep) in zip(layer.named_parameters(), expected_layer.named_parameters()):
        assert_close(p.grad, ep.grad, device, f"{pname}.grad")
    for (bname, b), (_, eb) in zip(layer.named_buffers(), expected_layer.named_buffers()):
        assert_close(b, eb, device, bname)


# -- optimizer steps, second derivatives, moving and saving --

def model():
    return nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), nn.BatchNorm2d(2), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(8, 1))


def train(backend, make_optimizer, state, steps=3):
    """A few WGAN-GP-flavoured steps: a loss plus the gradient norm of the critic, as in
    training."""
    target = B.use_backend(backend)
    critic = model()
    critic.load_state_dict(state)
    opt = make_optimizer(critic.parameters())
    rng = numpy.random.default_rng(0)
    for _ in range(steps):
        x = Tensor(target.asarray(rng.standard_normal((4, 1, 4, 4)).astype(numpy.float32)),
                   requires_grad=True)
        scores = critic(x)
        (gx,) = grad(scores.sum(), x, create_graph=True)
        loss = (F.binary_cross_entropy_with_logits(scores, numpy.ones((4, 1)))
                + ((gx * gx).sum() - 1.0) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    B.use_backend("numpy")
    return critic, opt


OPTIMIZERS = {"SGD": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
              "Adam": lambda ps: optim.Adam(ps, lr=0.01, betas=(0.5, 0.999), weight_decay=1e-3)}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps_match_numpy(device, name):
    state = model().state_dict()
    expected, expected_opt = train("numpy", OPTIMIZERS[name], state)
    critic, opt = train(device, OPTIMIZERS[name], state)
    for (pname, p), (_, ep) in zip(critic.named_parameters(), expected.named_parameters()):
        assert_on(device, p, pname)
        assert p.dtype == numpy.float32
        assert_close(p, ep, device, pname, STEP_TOLERANCE)
    for (bname, b), (_, eb) in zip(critic.named_buffers(), expected.named_buffers()):
        assert_on(device, b, bname)
        assert_close(b, eb, device, bname, STEP_TOLERANCE)
    for state_, expected_state in zip(opt.state, expected_opt.state):
        for key, value in state_.items():
            if hasattr(value, "shape"):
                assert isinstance(value, B.get_backend(device).array_type), key
                assert value.dtype == numpy.float32
                numpy.testing.assert_allclose(B.to_numpy(value), expected_state[key], err_msg=key,
                                              **STEP_TOLERANCE[device])
    # The optimizer's state survives a trip through the host and back onto the device.
    saved = opt.state_dict()
    B.use_backend(device)
    resumed = OPTIMIZERS[name](critic.parameters())
    resumed.load_state_dict(saved)
    for state_ in resumed.state:
        assert all(isinstance(v, B.get_backend(device).array_type)
                   for v in state_.values() if hasattr(v, "shape"))


def test_module_moves_and_saves(device):
    B.seed(0)
    host = model()
    x = numpy.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(numpy.float32)
    expected = host.eval()(Tensor(x))
    moved = model().to(device)
    moved.load_state_dict(host.state_dict())
    for name, p in list(moved.named_parameters()) + list(moved.named_buffers()):
        assert_on(device, p, name)
    out = moved.eval()(Tensor(x).to(device))
    assert_on(device, out, "output")
    assert_close(out, expected, device, "moved model output")
    state = moved.state_dict()
    assert all(isinstance(v, numpy.ndarray) for v in state.values())
    back = moved.to("numpy")
    assert all(isinstance(p.array, numpy.ndarray) for p in back.parameters())
    assert isinstance(Tensor(x).to(device).to("numpy").array, numpy.ndarray)


def test_gradcheck_runs_on_device(device):
    """scratchgan.gradcheck itself is backend-agnostic (float64 on the device)."""
    B.use_backend(device)
    B.seed(0)
    layer = nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), nn.Tanh(), nn.Flatten(), nn.Linear(8, 1))
    x = Tensor(B.xp.asarray(numpy.random.default_rng(0).standard_normal((2, 1, 4, 4))))
    assert gradcheck(layer, [x])
    assert all(p.dtype == numpy.float32 for p in layer.parameters())
    for name, p in layer.named_parameters():
        assert_on(device, p, name)
