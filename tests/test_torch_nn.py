"""PyTorch's nn idioms as the well-known GAN programs write them (the DCGAN tutorial,
PyTorch-GAN, examples/dcgan), checked for PyTorch's semantics: values, gradients, statistics.

The checks stand without torch; where torch is installed, a few also compare against it.
"""
import math

import numpy
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import gradcheck, gradgradcheck, nn, optim
from scratchgan.tensor import Tensor
from fake_device import FAKE


def leaf(array, dtype=numpy.float64):
    return Tensor(numpy.asarray(array, dtype=dtype), requires_grad=True)


def randn(*shape, seed=0):
    return numpy.random.default_rng(seed).standard_normal(shape)


# -- activations: inplace= accepted, PyTorch's reprs --

def test_relu_and_leaky_relu_take_inplace_and_print_as_pytorch():
    x = Tensor(randn(3, 4).astype(numpy.float32))
    for layer in (nn.ReLU(True), nn.ReLU(inplace=True), nn.ReLU()):
        numpy.testing.assert_array_equal(layer(x).numpy(), numpy.maximum(x.numpy(), 0))
    leaky = nn.LeakyReLU(0.2, inplace=True)
    numpy.testing.assert_allclose(leaky(x).numpy(), numpy.where(x.numpy() > 0, x.numpy(),
                                                                0.2 * x.numpy()), rtol=1e-6)
    assert nn.ReLU(True).inplace and not nn.ReLU().inplace
    assert repr(nn.ReLU(True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"
    assert repr(leaky) == "LeakyReLU(negative_slope=0.2, inplace=True)"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


# -- Embedding --

def test_embedding_weight_is_standard_normal():
    emb = nn.Embedding(1000, 100)
    w = emb.weight.numpy()
    assert w.shape == (1000, 100) and w.dtype == numpy.float32 and emb.weight.requires_grad
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    assert repr(emb) == "Embedding(1000, 100)"


@pytest.mark.parametrize("make_index", [
    lambda a: a, lambda a: a.tolist(), lambda a: Tensor(a), lambda a: sg.tensor(a, dtype=sg.long),
    lambda a: a.astype(numpy.int32)])
def test_embedding_picks_rows_for_indices_of_any_shape(make_index):
    emb = nn.Embedding(5, 3)
    index = numpy.array([[0, 4, 2], [2, 2, 1]])
    out = emb(make_index(index))
    assert out.shape == (2, 3, 3)
    numpy.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[index])


def test_embedding_gradient_adds_up_repeated_indices():
    emb = nn.Embedding(4, 2)
    index = numpy.array([[1, 3, 1], [1, 0, 3]])
    gy = randn(2, 3, 2).astype(numpy.float32)
    emb(index).backward(Tensor(gy))
    expected = numpy.zeros((4, 2), numpy.float32)
    for i, row in zip(index.ravel(), gy.reshape(-1, 2)):
        expected[i] += row
    numpy.testing.assert_allclose(emb.weight.grad.numpy(), expected, rtol=1e-6)
    assert expected[2].tolist() == [0, 0]  # an unused row gets no gradient


def test_embedding_gradcheck():
    index = numpy.array([[2, 0, 2], [1, 2, 2]])
    weight = leaf(randn(3, 4))
    assert gradcheck(lambda w: F.embedding(index, w), [weight])
    assert gradgradcheck(lambda w: F.embedding(index, w) ** 2, [weight])


def test_embedding_refuses_floats_and_out_of_range_indices():
    emb = nn.Embedding(3, 2)
    with pytest.raises(RuntimeError, match="integers"):
        emb(Tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match="out of range"):
        emb(numpy.array([0, 3]))
    with pytest.raises(IndexError, match="out of range"):
        emb(numpy.array([-1]))


# -- Upsample and interpolate --

def test_upsample_repeats_each_pixel_into_a_block():
    x = randn(2, 3, 4, 5).astype(numpy.float32)
    expected = numpy.repeat(numpy.repeat(x, 2, axis=2), 3, axis=3)
    for out in (F.interpolate(Tensor(x), scale_factor=(2, 3)),
                F.interpolate(Tensor(x), size=(8, 15)),
                nn.Upsample(scale_factor=(2, 3))(Tensor(x)), nn.Upsample(size=(8, 15))(Tensor(x))):
        assert out.shape == (2, 3, 8, 15)
        numpy.testing.assert_array_equal(out.numpy(), expected)
    square = nn.Upsample(scale_factor=2)(Tensor(x))
    numpy.testing.assert_array_equal(square.numpy(), x.repeat(2, axis=2).repeat(2, axis=3))
    line = F.interpolate(Tensor(x[:, :, 0]), scale_factor=3)  # (N, C, L)
    numpy.testing.assert_array_equal(line.numpy(), x[:, :, 0].repeat(3, axis=2))


def test_upsample_gradient_is_the_sum_over_each_block():
    x = leaf(randn(2, 3, 4, 5), numpy.float32)
    gy = randn(2, 3, 8, 15).astype(numpy.float32)
    nn.Upsample(scale_factor=(2, 3))(x).backward(Tensor(gy))
    numpy.testing.assert_allclose(x.grad.numpy(), gy.reshape(2, 3, 4, 2, 5, 3).sum(axis=(3, 5)),
                                  rtol=1e-5, atol=1e-6)


def test_interpolate_gradcheck():
    x = leaf(randn(2, 2, 3, 2))
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=2), [x])
    assert gradcheck(lambda t: F.interpolate(t, size=(3, 6)), [x])
    assert gradgradcheck(lambda t: F.interpolate(t, scale_factor=(3, 1)) ** 2, [x])


def test_interpolate_says_what_it_does_not_do():
    x = Tensor(randn(1, 1, 4, 4).astype(numpy.float32))
    with pytest.raises(NotImplementedError, match="bilinear"):
        F.interpolate(x, scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match="bicubic"):
        nn.Upsample(scale_factor=2, mode="bicubic")(x)
    with pytest.raises(NotImplementedError, match="whole factors"):
        F.interpolate(x, scale_factor=1.5)
    with pytest.raises(NotImplementedError, match="whole factors"):
        F.interpolate(x, size=(6, 6))
    with pytest.raises(ValueError, match="one of"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="one of"):
        F.interpolate(x, size=8, scale_factor=2)


def test_upsample_prints_as_pytorch():
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.Upsample(size=(4, 4))) == "Upsample(size=(4, 4), mode='nearest')"
    assert repr(nn.Upsample(scale_factor=(2, 3))) == \
        "Upsample(scale_factor=(2.0, 3.0), mode='nearest')"


# -- Dropout2d --

def test_dropout2d_zeroes_whole_channels_at_rate_p_and_scales_the_rest():
    p = 0.25
    x = Tensor(numpy.ones((64, 64, 4, 4), numpy.float32))
    out = nn.Dropout2d(p)(x).numpy()
    per_channel = out.reshape(64, 64, 16)
    assert (per_channel == per_channel[:, :, :1]).all()  # each channel is one value
    values = per_channel[:, :, 0]
    assert set(numpy.unique(values).tolist()) == {0.0, numpy.float32(1 / (1 - p))}
    assert abs((values == 0).mean() - p) < 0.03  # 4096 channels: the rate's sd is about 0.007
    # the gradient is the same mask
    x = leaf(randn(8, 16, 3, 3), numpy.float32)
    y = F.dropout2d(x, 0.5)
    y.sum().backward()
    mask = x.grad.numpy()
    numpy.testing.assert_allclose(y.numpy(), x.numpy() * mask, rtol=1e-6)
    assert set(numpy.unique(mask).tolist()) <= {0.0, 2.0}
    assert (mask == mask[:, :, :1, :1]).all()


def test_dropout2d_is_the_identity_in_eval_mode_and_prints_as_pytorch():
    layer = nn.Dropout2d(0.5)
    x = Tensor(randn(2, 3, 2, 2).astype(numpy.float32))
    assert layer.eval()(x) is x and F.dropout2d(x, 0.5, training=False) is x
    assert repr(layer) == "Dropout2d(p=0.5, inplace=False)"
    assert repr(nn.Dropout(0.3, True)) == "Dropout(p=0.3, inplace=True)"
    with pytest.raises(ValueError):
        nn.Dropout2d(1.5)


def test_dropout2d_gradcheck():
    def fn(t):
        B.seed(7)  # the same mask in every call gradcheck makes
        return F.dropout2d(t, 0.5)
    x = leaf(randn(4, 3, 2, 2))
    assert gradcheck(fn, [x])
    assert gradgradcheck(lambda t: fn(t) ** 2, [x])


# -- BatchNorm's positional arguments, reprs of the layers --

def test_batchnorm_takes_eps_second_as_pytorch_gan_writes_it():
    bn = nn.BatchNorm2d(128, 0.8)
    assert bn.eps == 0.8 and bn.momentum == 0.1 and bn.affine and bn.track_running_stats
    assert nn.BatchNorm1d(64, 0.8).eps == 0.8
    assert nn.BatchNorm2d(4, 1e-5, 0.2, False, False).momentum == 0.2
    x = randn(2, 128, 3, 3).astype(numpy.float32)
    y = bn.eval()(Tensor(x)).numpy()  # running mean 0, var 1: y = x / √(1 + eps)
    numpy.testing.assert_allclose(y, x / math.sqrt(1.8), rtol=1e-5, atol=1e-6)


def test_layers_print_as_pytorch():
    assert repr(nn.Conv2d(3, 64, 4, 2, 1, bias=False)) == \
        "Conv2d(3, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)"
    assert repr(nn.ConvTranspose2d(100, 64, 4, 1, 0, bias=False)) == \
        "ConvTranspose2d(100, 64, kernel_size=(4, 4), stride=(1, 1), bias=False)"
    assert repr(nn.ConvTranspose2d(8, 4, 3, 2, 1, output_padding=1)) == \
        "ConvTranspose2d(8, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), " \
        "output_padding=(1, 1))"
    assert repr(nn.BatchNorm2d(64)) == \
        "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert repr(nn.Linear(100, 128)) == "Linear(in_features=100, out_features=128, bias=True)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    conv = nn.Conv2d(3, 8, (3, 3), stride=(1, 1), padding=(1, 1))
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    with pytest.raises(ValueError, match="square"):
        nn.Conv2d(3, 8, (3, 5))


def test_a_dcgan_generator_prints_as_pytorch():
    G = nn.Sequential(nn.ConvTranspose2d(100, 64, 4, 1, 0, bias=False), nn.BatchNorm2d(64),
                      nn.ReLU(True), nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh())
    assert repr(G) == (
        "Sequential(\n"
        "  (0): ConvTranspose2d(100, 64, kernel_size=(4, 4), stride=(1, 1), bias=False)\n"
        "  (1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (2): ReLU(inplace=True)\n"
        "  (3): ConvTranspose2d(64, 3, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), "
        "bias=False)\n"
        "  (4): Tanh()\n"
        ")")


def test_flatten_joins_start_dim_to_end_dim():
    x = Tensor(randn(2, 3, 4, 5).astype(numpy.float32))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5) and nn.Flatten(1, 2)(x).shape == (2, 12, 5)


# -- Module: apply, zero_grad, to/cuda/cpu, children --

def test_apply_visits_children_before_their_parent_and_returns_self():
    inner = nn.Sequential(nn.ReLU(), nn.Tanh())
    model = nn.Sequential(nn.Linear(2, 2), inner)
    seen = []
    assert model.apply(seen.append) is model
    assert [type(m).__name__ for m in seen] == ["Linear", "ReLU", "Tanh", "Sequential",
                                                "Sequential"]
    assert seen[3] is inner and seen[4] is model


def test_the_dcgan_tutorial_weights_init():
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    model = nn.Sequential(nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(4096))
    weight = model[0].weight
    model.apply(weights_init)
    assert model[0].weight is weight and weight.requires_grad and weight.is_leaf
    w = weight.numpy()
    assert abs(w.mean()) < 1e-3 and abs(w.std() - 0.02) < 1e-3
    bn = model[1]
    assert abs(bn.weight.numpy().mean() - 1) < 2e-3 and abs(bn.weight.numpy().std() - 0.02) < 2e-3
    assert (bn.bias.numpy() == 0).all()
    model[1].bias.data.fill_(0.5)  # the examples/dcgan spelling reaches the parameter too
    assert (bn.bias.numpy() == 0.5).all()


def test_module_zero_grad():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    model[0](Tensor(randn(4, 3).astype(numpy.float32))).sum().backward()
    model.zero_grad(set_to_none=False)
    for p in model[0].parameters():
        assert p.grad is not None and p.grad.shape == p.shape and (p.grad.numpy() == 0).all()
    assert all(p.grad is None for p in model[1].parameters())  # no gradient yet: stays None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_module_to_cpu_cuda_and_dtypes():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    for target in ("cpu", sg.device("cpu"), "numpy"):
        assert model.to(target) is model and model.cpu() is model
        assert all(isinstance(p.array, numpy.ndarray) for p in model.parameters())
    assert model.to(sg.float64) is model and model[0].weight.dtype == numpy.float64
    assert model[1].num_batches_tracked.dtype == numpy.int64  # only floating state is cast
    model.to("cpu", sg.float32)
    assert model[0].weight.dtype == numpy.float32
    model.to(FAKE.name)
    assert isinstance(model[0].weight.array, FAKE.array_type)
    assert isinstance(model[1].running_mean.array, FAKE.array_type)
    model.cpu()
    assert isinstance(model[0].weight.array, numpy.ndarray)
    if not sg.cuda.is_available():
        with pytest.raises(B.BackendError):
            model.cuda()


def test_named_children_and_add_module():
    model = nn.Sequential(nn.Linear(2, 2))
    model.add_module("act", nn.ReLU())
    assert [name for name, _ in model.named_children()] == ["0", "act"]
    assert model.act is model[1] and len(model) == 2


# -- nn.init --

def test_init_fills_in_place_without_a_graph_and_returns_the_tensor():
    layer = nn.Linear(4, 3)
    w = layer.weight
    for fn, args in [(nn.init.normal_, (0.0, 0.02)), (nn.init.uniform_, (-1, 1)),
                     (nn.init.constant_, (0.3,)), (nn.init.zeros_, ()), (nn.init.ones_, ()),
                     (nn.init.xavier_uniform_, ()), (nn.init.xavier_normal_, ()),
                     (nn.init.kaiming_uniform_, ()), (nn.init.kaiming_normal_, ())]:
        for target in (w, w.data):
            before = w.numpy()
            assert fn(target, *args) is target
            assert w.is_leaf and w.requires_grad and w.creator is None
            if fn not in (nn.init.constant_, nn.init.zeros_, nn.init.ones_):
                assert not numpy.array_equal(before, w.numpy())  # the parameter changed
    nn.init.constant_(w.data, 0.3)
    numpy.testing.assert_allclose(w.numpy(), 0.3, rtol=1e-6)
    nn.init.ones_(layer.bias)
    assert (layer.bias.numpy() == 1).all() and layer.bias.dtype == numpy.float32


def test_init_draws_from_the_seeded_generator():
    draws = []
    for _ in range(2):
        sg.manual_seed(3)
        draws.append(nn.init.normal_(nn.Linear(5, 5).weight.data).numpy())
    numpy.testing.assert_array_equal(*draws)


def test_init_fans_match_pytorch_formulas():
    t = Tensor(numpy.zeros((256, 128, 3, 3), numpy.float32))
    fan_in, fan_out = 128 * 9, 256 * 9
    assert nn.init._calculate_fan_in_and_fan_out(t) == (fan_in, fan_out)
    bound = math.sqrt(6 / (fan_in + fan_out))
    w = nn.init.xavier_uniform_(t).numpy()
    assert abs(w).max() <= bound and abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    w = nn.init.xavier_normal_(t, gain=2.0).numpy()
    assert abs(w.std() - 2 * math.sqrt(2 / (fan_in + fan_out))) / w.std() < 0.01
    # kaiming_uniform_'s defaults (a=0, leaky_relu): bound √(6 / fan_in)
    w = nn.init.kaiming_uniform_(t).numpy()
    assert abs(w).max() <= math.sqrt(6 / fan_in) and abs(w).max() > 0.99 * math.sqrt(6 / fan_in)
    w = nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu").numpy()
    assert abs(w.std() / math.sqrt(2 / fan_out) - 1) < 0.01
    w = nn.init.kaiming_uniform_(t, a=math.sqrt(5)).numpy()  # PyTorch's default for its layers
    assert abs(abs(w).max() - 1 / math.sqrt(fan_in)) < 0.01 / math.sqrt(fan_in)
    dense = Tensor(numpy.zeros((300, 200), numpy.float32))
    assert nn.init._calculate_fan_in_and_fan_out(dense) == (200, 300)
    w = nn.init.uniform_(dense, 2.0, 3.0).numpy()
    assert w.min() >= 2 and w.max() < 3 and abs(w.mean() - 2.5) < 0.01
    with pytest.raises(ValueError):
        nn.init.xavier_uniform_(Tensor(numpy.zeros(5, numpy.float32)))
    with pytest.raises(ValueError):
        nn.init.kaiming_normal_(dense, mode="fan_avg")


def test_calculate_gain():
    g = nn.init.calculate_gain
    assert g("linear") == g("conv2d") == g("conv_transpose2d") == g("sigmoid") == 1
    assert g("tanh") == 5 / 3 and g("relu") == math.sqrt(2) and g("selu") == 0.75
    assert g("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert g("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError):
        g("swish")


def test_dcgan_init_is_kept():
    model = nn.dcgan_init(nn.Sequential(nn.Linear(500, 400), nn.BatchNorm1d(400)))
    assert abs(model[0].weight.numpy().std() - 0.02) < 1e-3 and (model[0].bias.numpy() == 0).all()


# -- optimizers --

def sgd_problem():
    p = nn.Parameter(numpy.array([1.0, -2.0], numpy.float32))
    p.grad = Tensor(numpy.array([0.5, 0.5], numpy.float32))
    return p


def test_param_groups_hold_the_params_and_the_hyper_parameters():
    model = nn.Linear(3, 2)
    opt = optim.Adam((p for p in model.parameters()), 2e-4, (0.5, 0.999))  # a generator
    (group,) = opt.param_groups
    assert group["params"] == model.parameters() and group["lr"] == 2e-4
    assert group["betas"] == (0.5, 0.999) and group["eps"] == 1e-8
    assert group["weight_decay"] == 0
    assert opt.state_dict()["param_groups"][0]["params"] == [0, 1]


def test_changing_the_group_lr_changes_the_step():
    p = sgd_problem()
    opt = optim.SGD([p], lr=0.1)
    for group in opt.param_groups:
        group["lr"] = 1.0
    opt.step()
    numpy.testing.assert_allclose(p.numpy(), [0.5, -2.5])
    opt.param_groups[0]["lr"] = 0.0
    opt.step()
    numpy.testing.assert_allclose(p.numpy(), [0.5, -2.5])
    state = opt.state_dict()
    other = optim.SGD([sgd_problem()], lr=0.3)
    other.load_state_dict(state)
    assert other.param_groups[0]["lr"] == 0.0 and other.param_groups[0]["params"] == other.params


def test_optimizer_zero_grad():
    p, q = sgd_problem(), nn.Parameter(numpy.ones(2, numpy.float32))
    opt = optim.Adam([p, q])
    opt.zero_grad(set_to_none=False)
    assert (p.grad.numpy() == 0).all() and p.grad.shape == p.shape and q.grad is None
    opt.zero_grad()
    assert p.grad is None


def test_step_takes_a_closure():
    p = sgd_problem()
    opt = optim.SGD([p], 0.1)
    assert opt.step(lambda: 42) == 42 and opt.step() is None


def test_sgd_takes_pytorch_positional_arguments():
    opt = optim.SGD([sgd_problem()], 0.1, 0.9, 0.5, 0.01, False)
    assert (opt.lr, opt.momentum, opt.dampening, opt.weight_decay) == (0.1, 0.9, 0.5, 0.01)
    with pytest.raises(ValueError):
        optim.SGD([sgd_problem()], 0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(NotImplementedError, match="one parameter group"):
        optim.SGD([{"params": [sgd_problem()]}], 0.1)


def reference_sgd(p, grads, lr, momentum, dampening, weight_decay, nesterov):
    buf = None
    for g in grads:
        d = g + weight_decay * p
        buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
        p = p - lr * (d + momentum * buf if nesterov else buf)
    return p


def reference_rmsprop(p, grads, lr, alpha, eps, weight_decay, momentum, centered):
    v, mean, buf = numpy.zeros_like(p), numpy.zeros_like(p), numpy.zeros_like(p)
    for g in grads:
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        mean = alpha * mean + (1 - alpha) * g
        avg = numpy.sqrt(v - mean * mean if centered else v) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


SGD_SETTINGS = [(0.1, 0.9, 0.0, 0.0, False), (0.05, 0.9, 0.3, 0.01, False),
                (0.1, 0.5, 0.0, 0.01, True)]
RMSPROP_SETTINGS = [(0.01, 0.99, 1e-8, 0.0, 0.0, False), (0.005, 0.9, 1e-6, 0.01, 0.9, False),
                    (0.01, 0.95, 1e-8, 0.0, 0.5, True)]


def run_steps(opt, p, grads):
    for g in grads:
        p.grad = Tensor(g.astype(numpy.float32))
        opt.step()
    return p.numpy()


@pytest.mark.parametrize("settings", SGD_SETTINGS)
def test_sgd_dampening_and_nesterov(settings):
    p0, grads = randn(3, 2), [randn(3, 2, seed=s) for s in range(1, 6)]
    p = nn.Parameter(p0.astype(numpy.float32))
    got = run_steps(optim.SGD([p], *settings), p, grads)
    numpy.testing.assert_allclose(got, reference_sgd(p0, grads, *settings), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("settings", RMSPROP_SETTINGS)
def test_rmsprop(settings):
    p0, grads = randn(3, 2), [randn(3, 2, seed=s) for s in range(1, 6)]
    p = nn.Parameter(p0.astype(numpy.float32))
    got = run_steps(optim.RMSprop([p], *settings), p, grads)
    numpy.testing.assert_allclose(got, reference_rmsprop(p0, grads, *settings), rtol=1e-4,
                                  atol=1e-5)


# -- the new ops on the strict fake device (no stray numpy.* on a data array) --

def test_new_ops_run_on_the_device_backend():
    B.use_backend(FAKE.name)
    try:
        x = Tensor(FAKE.asarray(randn(2, 3, 2, 2).astype(numpy.float32)), requires_grad=True)
        up = nn.Upsample(scale_factor=2)(x)
        drop = nn.Dropout2d(0.5)(x)
        emb = nn.Embedding(4, 3)
        rows = emb(Tensor(FAKE.asarray(numpy.array([[1, 3], [1, 0]]))))
        (up.sum() + drop.sum() + rows.sum()).backward(retain_graph=True)
        for t in (up, drop, rows, x.grad, emb.weight.grad):
            assert isinstance(t.array, FAKE.array_type)
        mask = B.to_numpy(x.grad.array) - 4  # 4 from the 2x2 blocks, the mask from dropout
        assert set(numpy.unique(mask).tolist()) <= {0.0, 2.0} and (mask == mask[:, :, :1, :1]).all()
        assert B.to_numpy(emb.weight.grad.array)[:, 0].tolist() == [1, 2, 0, 1]
        conv = nn.Conv2d(3, 4, 3)
        for fn in (nn.init.normal_, nn.init.xavier_uniform_, nn.init.kaiming_normal_,
                   nn.init.zeros_):
            assert fn(conv.weight.data) is not None
            assert isinstance(conv.weight.array, FAKE.array_type)
        opt = optim.RMSprop(conv.parameters(), momentum=0.5, centered=True)
        conv(up).sum().backward()
        opt.step()
        opt.zero_grad(set_to_none=False)
        assert isinstance(conv.weight.grad.array, FAKE.array_type)
    finally:
        B.use_backend("numpy")


# -- against PyTorch itself, where it is installed --

def test_against_torch():
    torch = pytest.importorskip("torch")
    x = randn(2, 3, 4, 5).astype(numpy.float32)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.Upsample(scale_factor=2)(tx)
    gy = randn(*ty.shape).astype(numpy.float32)
    ty.backward(torch.tensor(gy))
    sx = Tensor(x, requires_grad=True)
    sy = nn.Upsample(scale_factor=2)(sx)
    sy.backward(Tensor(gy))
    numpy.testing.assert_array_equal(sy.numpy(), ty.detach().numpy())
    numpy.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)

    index = numpy.array([[1, 3, 1], [0, 0, 2]])
    temb, semb = torch.nn.Embedding(4, 3), nn.Embedding(4, 3)
    semb.weight.data.copy_(temb.weight.detach().numpy())
    gy = randn(2, 3, 3).astype(numpy.float32)
    temb(torch.tensor(index)).backward(torch.tensor(gy))
    semb(index).backward(Tensor(gy))
    numpy.testing.assert_allclose(semb.weight.grad.numpy(), temb.weight.grad.numpy(), rtol=1e-6)

    for name, args in [("linear", ()), ("tanh", ()), ("relu", ()), ("leaky_relu", ()),
                       ("leaky_relu", (0.2,)), ("selu", ()), ("conv_transpose2d", ())]:
        assert nn.init.calculate_gain(name, *args) == torch.nn.init.calculate_gain(name, *args)
    for shape in [(7, 5), (16, 8, 3, 3), (4, 6, 5)]:
        assert nn.init._calculate_fan_in_and_fan_out(Tensor(numpy.zeros(shape))) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))

    for make in (lambda m: m.Conv2d(3, 64, 4, 2, 1, bias=False),
                 lambda m: m.ConvTranspose2d(100, 64, 4, 1, 0, bias=False), lambda m: m.ReLU(True),
                 lambda m: m.LeakyReLU(0.2, inplace=True), lambda m: m.Dropout2d(0.25),
                 lambda m: m.Upsample(scale_factor=2), lambda m: m.Embedding(10, 10),
                 lambda m: m.Linear(100, 128), lambda m: m.Flatten(), lambda m: m.Dropout(0.3)):
        assert repr(make(nn)) == repr(make(torch.nn))

    for settings, make in [(s, optim.SGD) for s in SGD_SETTINGS] + \
                          [(s, optim.RMSprop) for s in RMSPROP_SETTINGS]:
        p0, grads = randn(3, 2), [randn(3, 2, seed=s) for s in range(1, 6)]
        tp = torch.tensor(p0.astype(numpy.float32), requires_grad=True)
        topt = getattr(torch.optim, make.__name__)([tp], *settings)
        for g in grads:
            tp.grad = torch.tensor(g.astype(numpy.float32))
            topt.step()
        p = nn.Parameter(p0.astype(numpy.float32))
        got = run_steps(make([p], *settings), p, grads)
        numpy.testing.assert_allclose(got, tp.detach().numpy(), rtol=1e-4, atol=1e-5)
