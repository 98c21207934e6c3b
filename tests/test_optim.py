"""SGD and Adam against PyTorch's documented update rules, written out here in float64 NumPy
(torch is not a dependency), their state_dict round trip, and float32 after a training step."""
import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratchgan import functional as F
from scratchgan import nn, optim
from scratchgan.nn import Parameter
from scratchgan.tensor import Tensor, grad
from strategies import arrays, floats

STEPS = 5


def sgd_reference(p, grads, lr, momentum, weight_decay):
    """torch.optim.SGD (dampening 0, no Nesterov): buf = g on the first step, then μ·buf + g."""
    p, buf = p.astype(numpy.float64), None
    for g in grads:
        d = g + weight_decay * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + d
            d = buf
        p = p - lr * d
    return p


def adam_reference(p, grads, lr, betas, eps, weight_decay):
    """torch.optim.Adam: bias-corrected moments, denominator √v̂ + eps."""
    p = p.astype(numpy.float64)
    m, v = numpy.zeros_like(p), numpy.zeros_like(p)
    beta1, beta2 = betas
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        p = p - lr * m_hat / (numpy.sqrt(v_hat) + eps)
    return p, m, v


def run(optimizer, params, grads_per_step):
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = Tensor(g.astype(numpy.float32))
        optimizer.step()


@st.composite
def problems(draw):
    """Two float32 parameters and STEPS gradients for each."""
    shapes = [(draw(st.integers(1, 3)), draw(st.integers(1, 3))), (draw(st.integers(1, 4)),)]
    params = [draw(arrays(s)).astype(numpy.float32) for s in shapes]
    grads = [[draw(arrays(s, floats(-3, 3))) for s in shapes] for _ in range(STEPS)]
    return params, grads


@given(problem=problems(), lr=st.sampled_from([0.1, 0.01]),
       momentum=st.sampled_from([0.0, 0.5, 0.9]), weight_decay=st.sampled_from([0.0, 0.01]))
def test_sgd_matches_pytorch_rule(problem, lr, momentum, weight_decay):
    initial, grads = problem
    params = [Parameter(p.copy()) for p in initial]
    run(optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay), params, grads)
    for k, (p, p0) in enumerate(zip(params, initial)):
        expected = sgd_reference(p0, [step[k] for step in grads], lr, momentum, weight_decay)
        numpy.testing.assert_allclose(p.numpy(), expected, rtol=1e-5, atol=1e-5)
        assert p.dtype == numpy.float32


@given(problem=problems(), lr=st.sampled_from([1e-3, 2e-4, 0.05]),
       betas=st.sampled_from([(0.9, 0.999), (0.5, 0.999), (0.0, 0.9)]),
       eps=st.sampled_from([1e-8, 1e-3]), weight_decay=st.sampled_from([0.0, 0.1]))
def test_adam_matches_pytorch_rule(problem, lr, betas, eps, weight_decay):
    initial, grads = problem
    params = [Parameter(p.copy()) for p in initial]
    adam = optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    run(adam, params, grads)
    for k, (p, p0) in enumerate(zip(params, initial)):
        expected, m, v = adam_reference(p0, [step[k] for step in grads], lr, betas, eps,
                                        weight_decay)
        # One Adam step moves a parameter by at most about lr: compare to a fraction of that.
        numpy.testing.assert_allclose(p.numpy(), expected, rtol=1e-5, atol=lr * 1e-3)
        state = adam.state[k]
        assert state["step"] == STEPS
        numpy.testing.assert_allclose(state["exp_avg"], m, rtol=1e-4, atol=1e-6)
        numpy.testing.assert_allclose(state["exp_avg_sq"], v, rtol=1e-4, atol=1e-6)


def test_adam_first_step_is_lr_times_sign():
    """With bias correction the first step is lr·g/(|g| + eps) ≈ lr·sign(g), whatever |g|."""
    p = Parameter(numpy.zeros(3, dtype=numpy.float32))
    p.grad = Tensor(numpy.array([1e-3, -5.0, 200.0], dtype=numpy.float32))
    optim.Adam([p], lr=0.01).step()
    numpy.testing.assert_allclose(p.numpy(), [-0.01, 0.01, -0.01], rtol=1e-4)


def test_parameters_without_grad_are_left_alone():
    a, b = (Parameter(numpy.ones(2, dtype=numpy.float32)),
            Parameter(numpy.ones(2, dtype=numpy.float32)))
    a.grad = Tensor(numpy.ones(2, dtype=numpy.float32))
    for opt in (optim.SGD([a, b], lr=0.1, momentum=0.9), optim.Adam([a, b], lr=0.1)):
        opt.step()
    numpy.testing.assert_array_equal(b.numpy(), [1.0, 1.0])
    assert not (a.numpy() == 1.0).any()


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9,
                                                       weight_decay=0.01),
                                  lambda ps: optim.Adam(ps, lr=0.01, betas=(0.5, 0.999))],
                         ids=["SGD", "Adam"])
@given(problem=problems())
def test_state_dict_round_trip_continues_identically(make, problem):
    initial, grads = problem
    params = [Parameter(p.copy()) for p in initial]
    opt = make(params)
    run(opt, params, grads[:2])
    saved = opt.state_dict()
    saved_params = [p.numpy() for p in params]
    assert all(isinstance(v, (numpy.ndarray, int, float))
               for s in saved["state"].values() for v in s.values())

    run(opt, params, grads[2:])  # the original carries on...
    resumed = [Parameter(p) for p in saved_params]
    # ...and a fresh one, from the saved state and hyper-parameters
    other = type(opt)(resumed, lr=123.0)
    other.load_state_dict(saved)
    assert other.lr == opt.lr
    run(other, resumed, grads[2:])
    for p, q in zip(params, resumed):
        numpy.testing.assert_array_equal(p.numpy(), q.numpy())


def test_state_dict_is_a_copy():
    p = Parameter(numpy.zeros(2, dtype=numpy.float32))
    opt = optim.Adam([p], lr=0.1)
    p.grad = Tensor(numpy.ones(2, dtype=numpy.float32))
    opt.step()
    saved = opt.state_dict()
    before = saved["state"][0]["exp_avg"].copy()
    opt.step()
    numpy.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)


def test_load_state_dict_rejects_wrong_shapes():
    p = Parameter(numpy.zeros(2, dtype=numpy.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = Tensor(numpy.ones(2, dtype=numpy.float32))
    opt.step()
    saved = opt.state_dict()
    other = optim.SGD([Parameter(numpy.zeros(3, dtype=numpy.float32))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="momentum_buffer"):
        other.load_state_dict(saved)


def test_training_step_keeps_float32():
    """After Adam steps on conv + batch norm + linear, with a gradient penalty and float64 targets,
    every parameter, gradient, optimizer state and floating buffer is still float32."""
    model = nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.BatchNorm2d(3),
                          nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(12, 1))
    adam = optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    rng = numpy.random.default_rng(0)
    for _ in range(2):
        x = Tensor(rng.standard_normal((4, 1, 4, 4)).astype(numpy.float32), requires_grad=True)
        scores = model(x)
        loss = F.binary_cross_entropy_with_logits(scores, numpy.ones((4, 1)))  # float64 labels
        (gx,) = grad(scores.sum(), x, create_graph=True)
        loss = loss + 10.0 * ((gx * gx).sum() - 1.0) ** 2
        adam.zero_grad()
        loss.backward()
        adam.step()
    assert loss.dtype == numpy.float32
    for name, p in model.named_parameters():
        assert p.dtype == numpy.float32, name
        assert p.grad.dtype == numpy.float32, name
    for i, state in enumerate(adam.state):
        for key, value in state.items():
            if hasattr(value, "dtype"):
                assert value.dtype == numpy.float32, (i, key)
    for name, b in model.named_buffers():
        assert b.dtype == (numpy.int64 if name.endswith("num_batches_tracked")
                           else numpy.float32), name
