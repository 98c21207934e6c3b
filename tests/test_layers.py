"""Layers and Module: gradients (parameters included) against finite differences, second
derivatives, the WGAN-GP penalty, and the PyTorch-like Module interface."""
import numpy
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import gradcheck, gradgradcheck, nn
from scratchgan.tensor import Tensor, grad
from strategies import (arrays, away_from, conv_geometries, conv_transpose_geometries, floats,
                        shapes, viewed_array)

seeds = st.integers(0, 2 ** 16)


class Reseeded(nn.Module):
    """Runs ``inner`` from the same random state on every call: one dropout mask for all
    evaluations."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        B.seed(0)
        return self.inner(x)


def assume_away_from_kinks(model, x, margin=1e-3):
    """Reject draws where a (leaky) ReLU sees an input within ``margin`` of 0, where it has no
    derivative."""
    h = Tensor(x)
    for layer in (model if isinstance(model, nn.Sequential) else [model]):
        if isinstance(layer, (nn.LeakyReLU, nn.ReLU)):
            assume(numpy.abs(h.numpy()).min() > margin)
        h = layer(h)


@given(data=st.data(), seed=seeds, bias=st.booleans())
def test_linear(data, seed, bias):
    B.seed(seed)
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    layer = nn.Linear(n_in, n_out, bias=bias)
    view, x = data.draw(viewed_array((data.draw(st.integers(1, 3)), n_in)))
    assert gradcheck(layer, [Tensor(view(x))])
    assert gradgradcheck(layer, [Tensor(view(x))])
    assert (layer.bias is not None) == bias and len(layer.parameters()) == 1 + bias


@given(data=st.data(), seed=seeds, bias=st.booleans())
def test_conv2d(data, seed, bias):
    B.seed(seed)
    g = data.draw(conv_geometries(max_side=4))
    layer = nn.Conv2d(g.C_in, g.C_out, g.k, g.stride, g.padding, bias=bias)
    view, x = data.draw(viewed_array((g.N, g.C_in, g.H, g.W)))
    assert gradcheck(layer, [Tensor(view(x))])
    assert gradgradcheck(layer, [Tensor(view(x))])


@given(data=st.data(), seed=seeds, bias=st.booleans())
def test_conv_transpose2d(data, seed, bias):
    B.seed(seed)
    g = data.draw(conv_transpose_geometries(max_side=3))
    layer = nn.ConvTranspose2d(g.C_in, g.C_out, g.k, g.stride, g.padding, g.output_padding,
                               bias=bias)
    view, x = data.draw(viewed_array((g.N, g.C_in, g.H, g.W)))
    assert gradcheck(layer, [Tensor(view(x))])
    assert gradgradcheck(layer, [Tensor(view(x))])


ACTIVATIONS = {
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), away_from([0.0]), True),
    "ReLU": (nn.ReLU, away_from([0.0]), False),
    "Tanh": (nn.Tanh, floats(-3, 3), True),
    "Sigmoid": (nn.Sigmoid, floats(-3, 3), True),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(data=st.data())
def test_activation_layers(name, data):
    make, elements, second_order = ACTIVATIONS[name]
    view, x = data.draw(viewed_array(data.draw(shapes()), elements))
    assert gradcheck(make(), [Tensor(view(x))])
    if second_order:
        assert gradgradcheck(make(), [Tensor(view(x))])


@given(data=st.data(), p=st.sampled_from([0.25, 0.5]))
def test_dropout_layer(data, p):
    view, x = data.draw(viewed_array(data.draw(shapes())))
    assert gradcheck(Reseeded(nn.Dropout(p)), [Tensor(view(x))])
    layer = nn.Dropout(p).eval()
    numpy.testing.assert_array_equal(layer(Tensor(x)).numpy(), x)  # the identity in evaluation


def test_dropout_drops_and_rescales():
    y = nn.Dropout(0.25)(Tensor(numpy.ones((100, 100), dtype=numpy.float32))).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    numpy.testing.assert_allclose(y[kept], 1 / 0.75)


@given(data=st.data())
def test_flatten_and_reshape(data):
    shape = data.draw(shapes(min_dims=2, max_dims=4))
    view, x = data.draw(viewed_array(shape))
    flat = nn.Flatten()(Tensor(view(x)))
    assert flat.shape == (shape[0], int(numpy.prod(shape[1:])))
    assert gradcheck(nn.Flatten(), [Tensor(view(x))])
    back = nn.Reshape(*shape[1:])
    numpy.testing.assert_array_equal(back(flat).numpy(), view(x))
    assert gradcheck(nn.Sequential(nn.Flatten(), back), [Tensor(view(x))])


@given(data=st.data(), seed=seeds)
def test_sequential_dense(data, seed):
    B.seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Linear(4, 2),
                          nn.Tanh())
    x = data.draw(arrays((data.draw(st.integers(2, 4)), 3)))
    assume(x.std(0).min() > 0.1)
    assume_away_from_kinks(model, x)
    assert gradcheck(model, [Tensor(x)])


@given(data=st.data(), seed=seeds)
def test_sequential_conv(data, seed):
    """A DCGAN-shaped pair: dense -> Reshape -> ConvTranspose2d, and Conv2d -> BatchNorm2d ->
    Flatten."""
    B.seed(seed)
    generator = nn.Sequential(nn.Linear(2, 8), nn.Reshape(2, 2, 2),
                              nn.ConvTranspose2d(2, 1, 3, 2, 1, 1), nn.Tanh())
    z = data.draw(arrays((data.draw(st.integers(1, 2)), 2)))
    assert generator(Tensor(z)).shape == (z.shape[0], 1, 4, 4)
    assert gradcheck(generator, [Tensor(z)])
    critic = nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), nn.BatchNorm2d(2), nn.Sigmoid(), nn.Flatten(),
                           nn.Linear(8, 1))
    x = data.draw(arrays((2, 1, 4, 4)))
    assume(x.std() > 0.1)
    assert gradcheck(critic, [Tensor(x)])


# -- WGAN-GP --

class GradientPenalty(nn.Module):
    """WGAN-GP's term mean_i (‖∇ₓ D(x̂)_i‖ − 1)²: a function of x̂ and of the critic's weights."""

    def __init__(self, critic):
        super().__init__()
        self.critic = critic

    def forward(self, x_hat):
        (g,) = grad(self.critic(x_hat).sum(), x_hat, create_graph=True)
        norms = (g.reshape(g.shape[0], -1) ** 2).sum(1).sqrt()
        return ((norms - 1.0) ** 2).mean()


@pytest.mark.parametrize("activation", [lambda: nn.LeakyReLU(0.2), nn.Tanh],
                         ids=["LeakyReLU", "Tanh"])
@given(data=st.data(), seed=seeds)
def test_gradient_penalty(activation, data, seed):
    """The gradient of the penalty with respect to x̂ and every critic weight, as WGAN-GP
    trains it."""
    B.seed(seed)
    critic = nn.Sequential(nn.Conv2d(1, 2, 3, 2, 1), activation(), nn.Flatten(), nn.Linear(8, 1))
    x_hat = data.draw(arrays((data.draw(st.integers(1, 2)), 1, 4, 4)))
    assume_away_from_kinks(critic, x_hat, margin=1e-2)
    penalty = GradientPenalty(critic)
    value = penalty(Tensor(x_hat.astype(numpy.float32), requires_grad=True))
    assert value.shape == () and value.requires_grad
    assert gradcheck(penalty, [Tensor(x_hat)])
    # backward() reaches the weights through the first gradient (the final bias never enters it).
    critic.zero_grad()
    value.backward()
    for weight in (critic[0].weight, critic[3].weight):
        assert weight.grad is not None and weight.grad.shape == weight.shape
        assert numpy.abs(weight.grad.numpy()).max() > 0


# -- the Module interface --

def small_model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Dropout(0.5),
                         nn.Linear(4, 1))


def test_named_parameters_order_and_names():
    model = small_model()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]
    assert model.parameters() == [p for _, p in model.named_parameters()]
    assert model.parameters()[0] is model[0].weight and model.parameters()[-1] is model[4].bias
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
            self.head = nn.Linear(3, 1, bias=False)

        def forward(self, x):
            return self.head(self.body(x))

    assert [n for n, _ in Net().named_parameters()] == ["body.0.weight", "body.0.bias",
                                                        "head.weight"]


def test_state_dict_round_trip():
    B.seed(1)
    model = small_model()
    # move the stats
    model(Tensor(numpy.random.default_rng(0).standard_normal((5, 3)).astype(numpy.float32)))
    state = model.state_dict()
    assert set(state) == {"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias",
                          "1.running_mean", "1.running_var", "1.num_batches_tracked"}
    assert all(isinstance(v, numpy.ndarray) for v in state.values())
    state["0.weight"][...] = 7.0  # a copy: editing it leaves the model alone
    assert not (model[0].weight.numpy() == 7.0).any()
    state = model.state_dict()

    B.seed(2)
    other = small_model()
    assert not numpy.array_equal(other[0].weight.numpy(), model[0].weight.numpy())
    other.load_state_dict(state)
    for key, value in other.state_dict().items():
        numpy.testing.assert_array_equal(value, state[key], err_msg=key)
    x = Tensor(numpy.random.default_rng(1).standard_normal((4, 3)).astype(numpy.float32))
    model.eval(), other.eval()
    numpy.testing.assert_array_equal(model(x).numpy(), other(x).numpy())
    assert other[0].weight.dtype == numpy.float32


def test_train_and_eval_propagate():
    model = nn.Sequential(small_model(), nn.Sequential(nn.Linear(1, 1)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not model[0][3].training


def test_repr_is_readable():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten(),
                          nn.Linear(8, 1))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        "  (2): Flatten(start_dim=1, end_dim=-1)\n"
        "  (3): Linear(in_features=8, out_features=1, bias=True)\n"
        ")")


def test_to_numpy_backend():
    model = small_model()
    weight = model[0].weight
    assert model.to("numpy") is model
    assert model[0].weight is weight and isinstance(weight.array, numpy.ndarray)
    assert model[1].running_mean.device == "numpy"


def test_to_cupy_without_cupy_names_the_install_command():
    try:
        import cupy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("CuPy is importable here; the missing-CuPy message cannot be provoked")
    with pytest.raises(B.BackendError, match='pip install "scratchgan\\[cuda12\\]"'):
        small_model().to("cupy")
    assert B.active().name == "numpy"


def test_zero_grad_and_requires_grad():
    model = small_model()
    model(Tensor(numpy.ones((2, 3), dtype=numpy.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not model(Tensor(numpy.ones((2, 3), dtype=numpy.float32))).requires_grad


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_call_their_functional_losses(reduction):
    rng = numpy.random.default_rng(0)
    logits = Tensor(rng.standard_normal((4, 3)).astype(numpy.float32))
    targets = Tensor((rng.random((4, 3)) > 0.5).astype(numpy.float32))
    labels = numpy.array([0, 2, 1, 2])
    pairs = [(nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits, logits, targets),
             (nn.BCELoss, F.binary_cross_entropy, F.sigmoid(logits), targets),
             (nn.MSELoss, F.mse_loss, logits, targets),
             (nn.CrossEntropyLoss, F.cross_entropy, logits, labels)]
    for module, function, x, t in pairs:
        loss = module(reduction=reduction)
        numpy.testing.assert_array_equal(loss(x, t).array, function(x, t, reduction).array)
        assert repr(loss) == f"{module.__name__}(reduction={reduction!r})"


def test_sigmoid_keeps_tiny_probabilities_so_bce_after_it_still_has_a_gradient():
    # The PyTorch DCGAN tutorial's pattern: nn.Sigmoid() in D, nn.BCELoss() on it. When D rejects
    # G's samples hard, σ(x) is tiny but not 0, and G's gradient -1/σ·σ(1-σ) ≈ -1 stays alive.
    x = Tensor(numpy.array([-25.0, -20.0, 0.0, 20.0], numpy.float32), requires_grad=True)
    p = F.sigmoid(x)
    numpy.testing.assert_allclose(p.numpy(), 1 / (1 + numpy.exp(-x.numpy().astype(float))),
                                  rtol=1e-6)
    nn.BCELoss(reduction="sum")(p, Tensor(numpy.ones(4, numpy.float32))).backward()
    numpy.testing.assert_allclose(x.grad.numpy()[:3], [-1.0, -1.0, -0.5], rtol=1e-5)
