"""``import scratchgan as torch``: each PyTorch idiom that GAN programs use, with PyTorch's
semantics (values, dtypes, storage sharing, autograd), not only that it runs.

The main checks need no PyTorch; where it is installed, a few results are compared with real
torch (tests at the end, skipped otherwise).
"""
import io
import os
import pickle

import numpy
import pytest

import scratchgan as torch
import scratchgan.autograd
from scratchgan import backend as B
from scratchgan import gradcheck, nn
from fake_device import FakeArray, cupy_unavailable_reason, xp as fake_xp


def host(x):
    """A NumPy copy of a Tensor, or the array itself."""
    return x.numpy() if isinstance(x, torch.Tensor) else B.to_numpy(x)


# -- the module and the generator --

def test_import_as_torch_gives_pytorchs_names():
    assert torch.Tensor is scratchgan.Tensor and torch.nn is nn
    assert torch.autograd is scratchgan.autograd and torch.autograd.grad is torch.grad
    assert torch.float is torch.float32 and torch.long is torch.int64
    assert numpy.dtype(torch.float) == numpy.float32 and numpy.dtype(torch.long) == numpy.int64
    assert numpy.dtype(torch.double) == numpy.float64 and numpy.dtype(torch.half) == numpy.float16


def test_manual_seed_makes_draws_repeat():
    torch.manual_seed(123)
    a, b = torch.randn(4, 3), torch.rand(5)
    torch.manual_seed(123)
    numpy.testing.assert_array_equal(torch.randn(4, 3).numpy(), a.numpy())
    numpy.testing.assert_array_equal(torch.rand(5).numpy(), b.numpy())
    assert not numpy.array_equal(torch.randn(4, 3).numpy(), a.numpy())  # the stream moved on
    torch.manual_seed(124)
    assert not numpy.array_equal(torch.randn(4, 3).numpy(), a.numpy())


# -- factories --

SHAPES = [((2, 3), (2, 3)), (((2, 3),), (2, 3)), (([2, 3],), (2, 3)), ((5,), (5,)),
          ((torch.Size([4, 1]),), (4, 1)), ((), ())]


@pytest.mark.parametrize("make", [torch.randn, torch.rand, torch.zeros, torch.ones, torch.empty])
@pytest.mark.parametrize("args, shape", SHAPES)
def test_factory_shapes_from_ints_or_tuples(make, args, shape):
    t = make(*args)
    assert isinstance(t, torch.Tensor) and t.shape == shape and t.size() == shape
    assert t.dtype == torch.float32 and not t.requires_grad and t.is_leaf


def test_factory_values():
    assert (torch.zeros(3, 2).numpy() == 0).all() and (torch.ones(3, 2).numpy() == 1).all()
    assert (torch.full((2, 2), 1.5).numpy() == 1.5).all()
    torch.manual_seed(0)
    u = torch.rand(10000).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    n = torch.randn(10000).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05


def test_factory_dtype_device_requires_grad():
    for dtype, expected in [(torch.float, numpy.float32), (torch.long, numpy.int64),
                            (torch.float64, numpy.float64), (torch.uint8, numpy.uint8)]:
        assert torch.zeros(2, dtype=dtype).dtype == expected
        assert torch.ones((2, 2), dtype=dtype).dtype == expected
    assert torch.randn(2, dtype=torch.float64).dtype == numpy.float64
    for dev in ("cpu", torch.device("cpu")):
        t = torch.randn(2, 3, device=dev)
        assert t.device == torch.device("cpu") and t.device.type == "cpu"
        assert isinstance(t.array, numpy.ndarray)
    w = torch.zeros(2, 3, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    with pytest.raises(RuntimeError, match="floating"):
        torch.zeros(2, dtype=torch.long, requires_grad=True)


def test_full_takes_its_dtype_from_the_fill_value():
    assert torch.full((2,), 7).dtype == numpy.int64
    assert torch.full((2,), True).dtype == numpy.bool_
    assert torch.full((2,), 7.0).dtype == numpy.float32
    assert torch.full((2,), 7, dtype=torch.float).dtype == numpy.float32
    assert host(torch.full([2, 3], -1.0)).tolist() == [[-1.0] * 3] * 2


def test_like_factories_keep_shape_dtype_and_device():
    x = torch.randn(3, 4, dtype=torch.float64)
    for make in (torch.zeros_like, torch.ones_like, torch.empty_like, torch.randn_like,
                 torch.rand_like):
        y = make(x)
        assert y.shape == (3, 4) and y.dtype == numpy.float64 and y.device == x.device
        assert not y.requires_grad
    assert (torch.zeros_like(x).numpy() == 0).all() and (torch.ones_like(x).numpy() == 1).all()
    assert torch.zeros_like(x, dtype=torch.float).dtype == numpy.float32
    assert torch.ones_like(torch.ones(2, dtype=torch.long)).dtype == numpy.int64
    assert torch.randn_like(torch.ones(2), requires_grad=True).requires_grad
    f = torch.full_like(x, 2.5)
    assert f.dtype == numpy.float64 and (f.numpy() == 2.5).all()
    torch.manual_seed(5)
    a = torch.randn_like(torch.zeros(2, 3))
    torch.manual_seed(5)
    numpy.testing.assert_array_equal(a.numpy(), torch.randn(2, 3).numpy())


def test_factories_on_the_fake_device():
    t = torch.zeros(2, 3, device="fake")
    assert isinstance(t.array, FakeArray) and t.device.type == "fake"
    assert isinstance(torch.randn_like(t).array, FakeArray)
    assert isinstance(torch.tensor([1.0, 2.0], device="fake").array, FakeArray)


# -- torch.tensor and from_numpy --

def test_tensor_dtypes_as_pytorch_infers_them():
    assert torch.tensor([1.0, 2]).dtype == numpy.float32  # Python floats: the default float
    assert torch.tensor(3.5).dtype == numpy.float32 and torch.tensor(3.5).shape == ()
    assert torch.tensor([1, 2]).dtype == numpy.int64 and torch.tensor(3).dtype == numpy.int64
    assert torch.tensor([True, False]).dtype == numpy.bool_
    assert torch.tensor(numpy.ones(2)).dtype == numpy.float64  # an array keeps its dtype
    assert torch.tensor(numpy.float64(1.5)).dtype == numpy.float64
    assert torch.tensor(numpy.ones(2, numpy.float32)).dtype == numpy.float32
    assert torch.tensor(numpy.arange(3, dtype=numpy.int32)).dtype == numpy.int32
    assert torch.tensor([1, 2], dtype=torch.float).dtype == numpy.float32
    assert torch.tensor([1.0], dtype=torch.float64).dtype == numpy.float64
    assert host(torch.tensor([[1, 2], [3, 4]])).tolist() == [[1, 2], [3, 4]]
    both = torch.tensor([torch.tensor(1.5), torch.tensor(2.0)])
    assert both.dtype == numpy.float32 and host(both).tolist() == [1.5, 2.0]


def test_tensor_copies_its_data():
    source = numpy.ones(3, numpy.float32)
    t = torch.tensor(source)
    source[0] = 9
    assert host(t).tolist() == [1, 1, 1]
    u = torch.tensor(t)
    u.fill_(4)
    assert host(t).tolist() == [1, 1, 1]
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    assert w.requires_grad and w.is_leaf
    assert not torch.tensor(w).requires_grad  # a copy, cut from the graph


def test_from_numpy_shares_memory():
    a = numpy.zeros((2, 2))
    t = torch.from_numpy(a)
    assert t.dtype == numpy.float64 and t.shape == (2, 2)
    a[0, 0] = 5
    assert t[0, 0].item() == 5
    t.fill_(3)
    assert (a == 3).all()
    assert torch.from_numpy(numpy.arange(3)).dtype == numpy.int64
    with pytest.raises(TypeError):
        torch.from_numpy([1.0, 2.0])


def test_is_tensor_and_numel():
    assert torch.is_tensor(torch.ones(2)) and not torch.is_tensor(numpy.ones(2))
    assert torch.numel(torch.ones(2, 5)) == 10 and torch.ones(2, 5).numel() == 10


# -- cat and stack --

def test_cat_and_stack_values_with_dim():
    a, b = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[5.0, 6.0], [7.0, 8.0]])
    assert host(torch.cat([a, b])).tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert host(torch.cat((a, b), dim=1)).tolist() == [[1, 2, 5, 6], [3, 4, 7, 8]]
    assert host(torch.cat((a, b), -1)).tolist() == [[1, 2, 5, 6], [3, 4, 7, 8]]
    assert torch.cat([a, torch.zeros(2, 3)], 1).shape == (2, 5)
    assert torch.stack([a, b]).shape == (2, 2, 2)
    assert host(torch.stack([a, b], dim=1)).tolist() == [[[1, 2], [5, 6]], [[3, 4], [7, 8]]]
    assert host(torch.stack((a, b), dim=-1)).tolist() == [[[1, 5], [2, 6]], [[3, 7], [4, 8]]]


def test_cat_and_stack_gradients():
    a = torch.ones(2, 1, requires_grad=True)
    b = torch.ones(2, 2, requires_grad=True)
    weights = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    (torch.cat([a, b], dim=1) * weights).sum().backward()
    assert host(a.grad).tolist() == [[1], [4]] and host(b.grad).tolist() == [[2, 3], [5, 6]]
    c = torch.ones(2, requires_grad=True)
    d = torch.ones(2, requires_grad=True)
    (torch.stack([c, d], dim=1) * torch.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert host(c.grad).tolist() == [1, 3] and host(d.grad).tolist() == [2, 4]
    assert gradcheck(lambda x, y: torch.stack([x, y], dim=2),
                     [torch.randn(2, 3), torch.randn(2, 3)])
    assert gradcheck(lambda x, y: torch.cat([x, y], dim=0), [torch.randn(2, 3), torch.randn(1, 3)])


# -- gradient mode --

def test_no_grad_records_nothing():
    x = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        y = x * 2
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf

    @torch.no_grad()
    def sample():
        return x * 3
    assert not sample().requires_grad and (x * 3).requires_grad


def test_set_grad_enabled_as_a_call_and_as_a_block():
    try:
        torch.set_grad_enabled(False)  # a plain call switches at once, as PyTorch's
        assert not torch.is_grad_enabled()
        assert not (torch.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        torch.set_grad_enabled(True)
    assert torch.is_grad_enabled()
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    with torch.no_grad():
        with torch.set_grad_enabled(True):
            assert torch.is_grad_enabled()
        assert not torch.is_grad_enabled()


# -- devices --

def test_cuda_availability_and_the_device_idiom():
    assert torch.cuda.is_available() == (cupy_unavailable_reason() is None)
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the CPU-only idiom below is for machines without one")
    assert torch.cuda.device_count() == 0
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert dev == torch.device("cpu") and dev.type == "cpu" and str(dev) == "cpu"
    x = torch.randn(2, 3, device=dev).to(dev)
    assert x.device == dev and isinstance(x.array, numpy.ndarray)
    assert torch.device("cuda:1").index == 1 and str(torch.device("cuda", 0)) == "cuda:0"
    assert torch.device(dev) == dev and repr(dev) == "device(type='cpu')"
    with pytest.raises(RuntimeError):
        torch.device("tpu")


def test_tensor_device_is_a_device():
    x = torch.ones(2)
    assert isinstance(x.device, torch.device) and x.device.type == "cpu" and x.device.index is None
    assert x.device == torch.device("cpu") and x.device == "cpu" and str(x.device) == "cpu"
    assert x.device != torch.device("cuda") and not x.is_cuda
    assert {x.device: 1}[torch.device("cpu")] == 1
    fake = torch.Tensor(fake_xp.asarray([1.0]))
    assert fake.device.type == "fake" and torch.zeros(1, device=fake.device).device == fake.device


# -- shapes and views --

def test_size_and_numel():
    x = torch.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4 and x.numel() == 24
    assert isinstance(x.size(), torch.Size) and isinstance(x.size()[1:], torch.Size)
    assert x.size()[1:] == (3, 4) and x.size().numel() == 24 and x.dim() == 3
    assert tuple(x.size()) == x.shape and list(x.size()) == [2, 3, 4]


def test_view_shapes():
    x = torch.tensor(numpy.arange(24.0, dtype=numpy.float32))
    assert x.view(-1).shape == (24,)
    assert x.view(4, -1).shape == (4, 6) and x.view((2, 3, 4)).shape == (2, 3, 4)
    assert x.view(2, -1, 4).shape == (2, 3, 4) and x.view(torch.Size([6, 4])).shape == (6, 4)
    assert host(x.view(4, 6))[1].tolist() == list(range(6, 12))
    assert x.view(4, 6).view_as(torch.zeros(24)).shape == (24,)
    assert torch.zeros(2, 3, 4).flatten(1).shape == (2, 12)
    with pytest.raises(Exception):  # noqa: B017  (the engine's error for a bad size)
        x.view(5, -1)


def test_view_shares_storage():
    x = torch.zeros(2, 3)
    v = x.view(-1)
    v.fill_(2.0)
    assert (x.numpy() == 2).all()
    x.view(3, 2).view(6)[:3].fill_(7.0)  # a slice of a view of a view
    assert host(x).tolist() == [[7, 7, 7], [2, 2, 2]]
    w = x.view(3, 2)
    w.zero_()
    assert (x.numpy() == 0).all()
    x.fill_(1.0)
    assert (v.numpy() == 1).all() and (w.numpy() == 1).all()
    p = torch.zeros(4, requires_grad=True)
    p.data.view(2, 2).fill_(3.0)  # through .data and a view of it, onto the parameter
    assert (p.numpy() == 3).all()


def test_squeeze_unsqueeze_expand():
    x = torch.zeros(1, 3, 1)
    assert x.squeeze().shape == (3,) and x.squeeze(0).shape == (3, 1)
    assert x.squeeze(-1).shape == (1, 3) and x.squeeze(1).shape == (1, 3, 1)
    y = torch.zeros(3)
    assert y.unsqueeze(0).shape == (1, 3) and y.unsqueeze(-1).shape == (3, 1)
    assert y.unsqueeze(1).unsqueeze(2).shape == (3, 1, 1)
    c = torch.tensor([[1.0], [2.0]])
    assert host(c.expand(2, 3)).tolist() == [[1, 1, 1], [2, 2, 2]]
    assert c.expand(-1, 4).shape == (2, 4) and c.expand(5, 2, 3).shape == (5, 2, 3)
    assert c.expand_as(torch.zeros(2, 2)).shape == (2, 2)
    w = torch.tensor([[1.0], [2.0]], requires_grad=True)
    (w.expand(2, 3) * torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    assert host(w.grad).tolist() == [[6], [15]]  # expand's gradient sums the copies


# -- in-place methods --

def test_in_place_methods_change_the_tensor_and_return_it():
    x = torch.zeros(2, 3)
    assert x.fill_(1.5) is x and (x.numpy() == 1.5).all()
    assert x.zero_() is x and (x.numpy() == 0).all()
    assert x.fill_(torch.tensor(2.0)) is x and (x.numpy() == 2).all()
    assert x.copy_(torch.tensor([1.0, 2.0, 3.0])) is x  # broadcast, as PyTorch's copy_
    assert host(x).tolist() == [[1, 2, 3], [1, 2, 3]]
    x.copy_(numpy.arange(6).reshape(2, 3))
    assert x.dtype == numpy.float32 and host(x).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert x.clamp_(1, 4) is x and host(x).tolist() == [[1, 1, 2], [3, 4, 4]]
    assert host(x.clamp_(min=2)).tolist() == [[2, 2, 2], [3, 4, 4]]
    assert host(x.clamp_(max=3)).tolist() == [[2, 2, 2], [3, 3, 3]]
    assert host(x.mul_(2)).tolist() == [[4, 4, 4], [6, 6, 6]]
    assert host(x.add_(1)).tolist() == [[5, 5, 5], [7, 7, 7]]


def test_normal_and_uniform_fill_in_place():
    torch.manual_seed(0)
    x = torch.zeros(20000)
    assert x.normal_(0.5, 0.02) is x
    assert abs(x.numpy().mean() - 0.5) < 0.001 and abs(x.numpy().std() - 0.02) < 0.001
    assert x.uniform_(-1, 2) is x
    u = x.numpy()
    assert u.min() >= -1 and u.max() < 2 and abs(u.mean() - 0.5) < 0.03
    assert abs(torch.zeros(20000).normal_().numpy().std() - 1) < 0.03
    torch.manual_seed(3)
    a = torch.zeros(5).normal_(0, 0.02).numpy()
    torch.manual_seed(3)
    numpy.testing.assert_array_equal(torch.zeros(5).normal_(0, 0.02).numpy(), a)
    assert torch.zeros(3, dtype=torch.float64).normal_().dtype == numpy.float64


def test_in_place_on_a_leaf_that_requires_grad_raises_but_data_works():
    w = torch.zeros(3, requires_grad=True)
    for change in (lambda: w.fill_(1), lambda: w.zero_(), lambda: w.normal_(0, 1),
                   lambda: w.uniform_(), lambda: w.copy_(torch.ones(3)),
                   lambda: w.clamp_(0, 1), lambda: w.mul_(2), lambda: w.add_(1)):
        with pytest.raises(RuntimeError, match="leaf"):
            change()
    assert (w.numpy() == 0).all()
    w.data.normal_(0.0, 0.02)  # the DCGAN weights_init idiom
    assert w.numpy().std() > 0 and w.requires_grad and w.is_leaf
    w.data.fill_(1.0)
    assert (w.numpy() == 1).all()
    with torch.no_grad():  # also allowed, as PyTorch's
        w.mul_(3)
    assert (w.numpy() == 3).all()
    (w * w).sum().backward()
    assert host(w.grad).tolist() == [6, 6, 6]


def test_in_place_on_a_graph_tensor_is_refused_rather_than_silently_wrong():
    # PyTorch records it; scratchgan does not, so it refuses instead of giving a wrong gradient.
    x = torch.ones(2, requires_grad=True)
    h = x * 2
    with pytest.raises(RuntimeError, match="in-place"):
        h.mul_(3)
    assert host(h).tolist() == [2, 2]


# -- .data, detach and conversions --

def test_data_shares_storage_and_records_no_graph():
    p = torch.ones(3, requires_grad=True)
    d = p.data
    assert isinstance(d, torch.Tensor) and not d.requires_grad and d.is_leaf
    assert not (d * 2).requires_grad
    d.fill_(5.0)
    assert (p.numpy() == 5).all()
    y = p * 2
    assert y.data.creator is None and y.requires_grad
    p.data = torch.zeros(3)  # rebinding .data swaps the storage, as PyTorch's
    assert (p.numpy() == 0).all() and p.requires_grad


def test_detach_and_requires_grad_():
    x = torch.ones(2, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf and host(d).tolist() == [2, 2]
    e = x.detach()
    e.fill_(4.0)
    assert (x.numpy() == 4).all()  # detach shares storage
    z = torch.ones(2)
    assert z.requires_grad_() is z and z.requires_grad
    (z * 3).sum().backward()
    assert host(z.grad).tolist() == [3, 3]
    assert not z.requires_grad_(False).requires_grad


def test_conversions():
    x = torch.tensor([1.7, -1.7, 2.0])
    assert x.cpu().device == torch.device("cpu") and host(x.cpu()).tolist() == host(x).tolist()
    assert x.to("cpu").device.type == "cpu" and x.to(torch.device("cpu")).dtype == numpy.float32
    d = x.to(torch.float64)
    assert d.dtype == numpy.float64 and numpy.allclose(d.numpy(), x.numpy())
    assert x.to(dtype=torch.float64).dtype == numpy.float64
    assert x.to("cpu", torch.float64).dtype == numpy.float64
    assert x.to(torch.zeros(1, dtype=torch.float64)).dtype == numpy.float64
    assert x.double().dtype == numpy.float64 and d.float().dtype == numpy.float32
    assert x.long().dtype == numpy.int64 and host(x.long()).tolist() == [1, -1, 2]  # truncates
    assert torch.tensor([1, 2]).float().dtype == numpy.float32
    assert x.to(torch.float32) is x  # no change: the same tensor, as PyTorch's
    v = torch.tensor([2.5]).item()
    assert v == 2.5 and type(v) is float
    assert type(torch.tensor(3).item()) is int and type(torch.ones(1, 1).sum().item()) is float
    with pytest.raises((ValueError, RuntimeError)):
        torch.ones(2).item()
    assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
    assert x.long().type(torch.FloatTensor).dtype == numpy.float32
    assert x.type(torch.float64).dtype == numpy.float64


def test_to_keeps_the_graph_for_a_device_move_and_requires_grad():
    x = torch.ones(2, requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x


# -- reductions and norm --

def test_mean_and_sum_with_dim_and_keepdim():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.sum().item() == 21 and x.mean().item() == 3.5
    assert host(x.sum(0)).tolist() == [5, 7, 9] and host(x.sum(dim=1)).tolist() == [6, 15]
    assert host(x.mean(dim=1)).tolist() == [2, 5] and host(x.mean(-1)).tolist() == [2, 5]
    assert x.sum(dim=1, keepdim=True).shape == (2, 1) and x.mean(0, keepdim=True).shape == (1, 3)
    assert host(x.sum(dim=(0, 1))).tolist() == 21 and x.mean(dim=(0, 1), keepdim=True).shape == (
        1, 1)
    assert host(torch.sum(x, dim=0)).tolist() == [5, 7, 9]
    assert torch.mean(x).item() == 3.5 and host(torch.mean(x, 1, True)).tolist() == [[2], [5]]
    assert gradcheck(lambda t: t.mean(dim=1, keepdim=True), [torch.randn(3, 4)])
    assert gradcheck(lambda t: t.sum(dim=(0, 2)), [torch.randn(2, 3, 4)])


def test_norm_value_and_gradient():
    x = torch.tensor([[3.0, 4.0], [6.0, 8.0]])
    assert host(x.norm(2, dim=1)).tolist() == [5, 10]
    assert x.norm(p=2, dim=1, keepdim=True).shape == (2, 1)
    assert x.norm().item() == pytest.approx(numpy.sqrt(125))
    assert x.norm(2, dim=0).shape == (2,)
    w = torch.tensor([[3.0, 4.0]], requires_grad=True)
    w.norm(2, dim=1).sum().backward()
    numpy.testing.assert_allclose(host(w.grad), [[0.6, 0.8]], rtol=1e-6)  # x / ‖x‖
    assert gradcheck(lambda t: t.norm(2, dim=1), [torch.randn(4, 5)])
    assert gradcheck(lambda t: t.view(t.size(0), -1).norm(2, dim=1), [torch.randn(3, 2, 2)])
    with pytest.raises(NotImplementedError):
        x.norm(1)


# -- autograd --

def test_autograd_grad_with_pytorchs_keywords():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    (g,) = torch.autograd.grad(outputs=y, inputs=x, grad_outputs=torch.ones(y.size()),
                               create_graph=False, retain_graph=True, only_inputs=True)
    assert host(g).tolist() == [2, 4, 6] and x.grad is None and not g.requires_grad
    (g,) = scratchgan.autograd.grad(y, [x], grad_outputs=torch.tensor([1.0, 0.0, 2.0]))
    assert host(g).tolist() == [2, 0, 12]
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    ga, gb = torch.autograd.grad((a * 3 + b * b).sum(), [a, b])
    assert host(ga).tolist() == [3, 3] and host(gb).tolist() == [2, 2]
    with pytest.raises(RuntimeError, match="allow_unused"):
        torch.autograd.grad((a * 2).sum(), [a, b])
    assert torch.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)[1] is None


def test_backward_twice_needs_retain_graph():
    x = torch.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    z = (x * x).sum()
    x.grad = None
    z.backward(retain_graph=True)
    z.backward()
    assert host(x.grad).tolist() == [4, 4, 4]  # gradients accumulate
    (x * 5).sum().backward()
    assert host(x.grad).tolist() == [9, 9, 9]
    out = x * 2
    torch.autograd.grad(out.sum(), x)
    with pytest.raises(RuntimeError, match="retain_graph"):
        torch.autograd.grad(out.sum(), x)


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        (x * 2).backward()
    (x * 2).backward(torch.tensor([1.0, 3.0]))
    assert host(x.grad).tolist() == [2, 6]


def critic(x, w1, w2):
    """A small nonlinear critic: tanh(x·W1)·w2 per sample."""
    return torch.tanh(x.view(x.size(0), -1) @ w1) @ w2


def gradient_penalty(real, fake, alpha, w1, w2):
    """WGAN-GP's penalty, as the PyTorch programs write it."""
    interpolates = (alpha * real + ((1 - alpha) * fake)).requires_grad_(True)
    d_interpolates = critic(interpolates, w1, w2)
    fake_out = torch.ones(real.size(0), 1).requires_grad_(False)
    gradients = torch.autograd.grad(outputs=d_interpolates, inputs=interpolates,
                                    grad_outputs=fake_out, create_graph=True, retain_graph=True,
                                    only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def wgan_gp_inputs(dtype=numpy.float64):
    rng = numpy.random.default_rng(0)
    real, fake = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 3))
    alpha = rng.uniform(size=(4, 1, 1))
    w1, w2 = rng.standard_normal((6, 5)) * 0.5, rng.standard_normal((5, 1))
    return [a.astype(dtype) for a in (real, fake, alpha, w1, w2)]


def test_gradient_penalty_keeps_the_graph_for_a_second_backward():
    real, fake, alpha, w1, w2 = wgan_gp_inputs()
    W1 = torch.tensor(w1, requires_grad=True)
    W2 = torch.tensor(w2, requires_grad=True)
    penalty = gradient_penalty(torch.tensor(real), torch.tensor(fake), torch.tensor(alpha), W1, W2)
    # its value, from the critic's gradient written out by hand
    x = (alpha * real + (1 - alpha) * fake).reshape(4, -1)
    hidden = numpy.tanh(x @ w1)
    by_hand = ((1 - hidden ** 2) * w2.T) @ w1.T
    expected = ((numpy.linalg.norm(by_hand, axis=1) - 1) ** 2).mean()
    assert penalty.item() == pytest.approx(expected, rel=1e-10)
    assert penalty.requires_grad
    penalty.backward()  # the second backward, through the first one's graph
    assert W1.grad is not None and W2.grad is not None and numpy.abs(host(W1.grad)).sum() > 0
    # the same gradient as grad() gives, and both as central differences say
    g1, g2 = torch.autograd.grad(gradient_penalty(torch.tensor(real), torch.tensor(fake),
                                                  torch.tensor(alpha), W1, W2), [W1, W2])
    numpy.testing.assert_allclose(host(W1.grad), host(g1), rtol=1e-12)
    numpy.testing.assert_allclose(host(W2.grad), host(g2), rtol=1e-12)
    R, F_, A = torch.tensor(real), torch.tensor(fake), torch.tensor(alpha)
    assert gradcheck(lambda a, b: gradient_penalty(R, F_, A, a, b), [W1, W2])


# -- save and load --

def test_save_and_load_a_state_dict(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    path = str(tmp_path / "model.pt")
    torch.save(model.state_dict(), path)
    torch.manual_seed(1)
    other = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    assert not numpy.array_equal(host(other.state_dict()["0.weight"]),
                                 host(model.state_dict()["0.weight"]))
    other.load_state_dict(torch.load(path))
    for (k, a), (j, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == j
        numpy.testing.assert_array_equal(host(a), host(b))
    x = torch.randn(5, 3)
    numpy.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


def test_save_and_load_a_checkpoint_dict(tmp_path):
    checkpoint = {"epoch": 7, "loss": 0.25, "name": "G", "flags": (True, None),
                  "noise": torch.randn(2, 3), "labels": torch.tensor([1, 2]),
                  "history": [torch.zeros(1), 3], "array": numpy.arange(3.0),
                  "scalar": numpy.float32(1.5)}
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)
    assert loaded["epoch"] == 7 and loaded["loss"] == 0.25 and loaded["name"] == "G"
    assert loaded["flags"] == (True, None) and loaded["history"][1] == 3
    assert isinstance(loaded["noise"], torch.Tensor) and loaded["noise"].dtype == numpy.float32
    numpy.testing.assert_array_equal(loaded["noise"].numpy(), checkpoint["noise"].numpy())
    assert loaded["labels"].dtype == numpy.int64 and host(loaded["labels"]).tolist() == [1, 2]
    assert isinstance(loaded["history"][0], torch.Tensor)
    assert isinstance(loaded["array"], numpy.ndarray) and loaded["array"].tolist() == [0, 1, 2]
    assert loaded["scalar"] == numpy.float32(1.5) and loaded["scalar"].dtype == numpy.float32
    path = tmp_path / "ckpt.pth"
    torch.save(checkpoint, path)
    for where in ("cpu", torch.device("cpu"), lambda storage, loc: storage, {"cuda:0": "cpu"}):
        again = torch.load(path, map_location=where)
        assert isinstance(again["noise"].array, numpy.ndarray)


def test_load_keeps_the_saved_device_unless_mapped():
    buffer = io.BytesIO()
    torch.save({"t": torch.Tensor(fake_xp.asarray([1.0, 2.0]))}, buffer)
    assert isinstance(torch.load(io.BytesIO(buffer.getvalue()))["t"].array, FakeArray)
    moved = torch.load(io.BytesIO(buffer.getvalue()), map_location="cpu")["t"]
    assert isinstance(moved.array, numpy.ndarray) and host(moved).tolist() == [1, 2]


class Payload:
    ran = []

    def __reduce__(self):
        return (Payload.ran.append, ("unpickled",))


class Arbitrary:
    pass


def test_load_refuses_a_pickle_with_an_arbitrary_class(tmp_path):
    for obj in ({"x": Payload()}, Arbitrary(), [os.getcwd, 1]):
        path = tmp_path / "evil.pt"
        path.write_bytes(pickle.dumps(obj))
        with pytest.raises(RuntimeError, match="not a file written by scratchgan.save"):
            torch.load(path)
    assert Payload.ran == []
    with pytest.raises(RuntimeError):
        torch.load(io.BytesIO(b"not a pickle"))


# -- legacy spellings --

def test_legacy_tensor_constructors():
    a = numpy.arange(3.0)  # float64
    t = torch.FloatTensor(a)
    assert t.dtype == numpy.float32 and host(t).tolist() == [0, 1, 2]
    a[0] = 9
    assert t[0].item() == 0  # a copy
    ones = torch.FloatTensor(3, 1).fill_(1.0)
    assert ones.shape == (3, 1) and ones.dtype == numpy.float32 and (ones.numpy() == 1).all()
    assert torch.FloatTensor(4).shape == (4,)
    assert torch.FloatTensor(torch.zeros(2, 5).size()).shape == (2, 5)  # a Size is a shape
    assert host(torch.FloatTensor((2, 5))).tolist() == [2, 5]  # a tuple is data
    assert host(torch.FloatTensor([1, 2])).tolist() == [1.0, 2.0]
    assert torch.LongTensor([1, 2]).dtype == numpy.int64
    assert torch.LongTensor(2, 2).zero_().dtype == numpy.int64
    assert torch.DoubleTensor([1.0]).dtype == numpy.float64


def test_variable():
    x = torch.randn(2, 3)
    v = torch.autograd.Variable(x, requires_grad=False)
    assert isinstance(v, torch.Tensor) and not v.requires_grad
    numpy.testing.assert_array_equal(v.numpy(), x.numpy())
    w = scratchgan.autograd.Variable(x, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w * 2).sum().backward()
    assert (host(w.grad) == 2).all()
    w.data.fill_(0.0)
    assert (x.numpy() == 0).all()  # the same storage
    label = torch.autograd.Variable(torch.FloatTensor(4, 1).fill_(1.0), requires_grad=False)
    assert label.shape == (4, 1) and (label.numpy() == 1).all()


def test_backends_flags_are_accepted():
    saved = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = True
        assert torch.backends.cudnn.benchmark is True
        torch.backends.cudnn.deterministic = True
    finally:
        torch.backends.cudnn.benchmark = saved
        torch.backends.cudnn.deterministic = False
    torch.use_deterministic_algorithms(True)
    assert torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)


def test_a_missing_name_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="'fft'"):
        torch.fft  # noqa: B018
    assert not hasattr(torch, "fft") and not hasattr(torch, "distributions")
    assert getattr(torch, "fft", None) is None


# -- against real PyTorch where it is installed (CI has none: skipped there) --

def test_dtype_inference_matches_torch():
    real = pytest.importorskip("torch")
    cases = [[1.0, 2], [1, 2], [True], 3, 2.5, numpy.ones(2), numpy.float64(1.5),
             numpy.arange(3, dtype=numpy.int32), numpy.ones(2, numpy.float32)]
    for data in cases:
        assert (numpy.dtype(torch.tensor(data).dtype) ==
                numpy.dtype(str(real.tensor(data).dtype).removeprefix("torch."))), data
    for value in (7, 7.0, True):
        assert (numpy.dtype(torch.full((2,), value).dtype) ==
                numpy.dtype(str(real.full((2,), value).dtype).removeprefix("torch.")))


def test_gradient_penalty_matches_torch():
    real_torch = pytest.importorskip("torch")
    real, fake, alpha, w1, w2 = wgan_gp_inputs()

    def run(lib):
        W1 = lib.tensor(w1, requires_grad=True)
        W2 = lib.tensor(w2, requires_grad=True)
        x = (lib.tensor(alpha) * lib.tensor(real) + (1 - lib.tensor(alpha)) * lib.tensor(fake))
        x = x.requires_grad_(True)
        d = lib.tanh(x.view(x.size(0), -1) @ W1) @ W2
        g = lib.autograd.grad(outputs=d, inputs=x, grad_outputs=lib.ones(d.size(), dtype=d.dtype),
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
        penalty = ((g.view(g.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()
        penalty.backward()
        return [t.detach().numpy() for t in (penalty, W1.grad, W2.grad)]

    for ours, theirs in zip(run(torch), run(real_torch)):
        numpy.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_norm_and_reductions_match_torch():
    real = pytest.importorskip("torch")
    a = numpy.random.default_rng(1).standard_normal((3, 4, 2))
    for ours, theirs in [
        (torch.tensor(a).norm(2, dim=1), real.tensor(a).norm(2, dim=1)),
        (torch.tensor(a).norm(), real.tensor(a).norm()),
        (torch.tensor(a).mean(dim=(0, 2), keepdim=True),
         real.tensor(a).mean(dim=(0, 2), keepdim=True)),
        (torch.tensor(a).sum(-1), real.tensor(a).sum(-1)),
        (torch.tensor(a).expand(2, 3, 4, 2), real.tensor(a).expand(2, 3, 4, 2)),
        (torch.stack([torch.tensor(a)] * 2, dim=-1), real.stack([real.tensor(a)] * 2, dim=-1)),
    ]:
        assert tuple(ours.shape) == tuple(theirs.shape)
        numpy.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
