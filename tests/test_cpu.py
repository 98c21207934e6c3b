"""The NumPy backend's threads and pooled memory (scratchgan/backend/threads.py, memory.py).

Cutting work into parts must never change a result: every op that cuts is run on shapes big
enough to be cut, with 1, 2 and 3 threads, and the results must be equal bit for bit.
"""
import multiprocessing
import threading
import time

import numpy
import pytest

from scratchgan import backend as B, functional as F, nn
from scratchgan.backend import threads
from scratchgan.backend.memory import MemoryPool
from scratchgan.models import build
from scratchgan.optim import Adam
from scratchgan.tensor import Tensor
from scratchgan.trainer import GANTrainer, thread_policy


@pytest.fixture(autouse=True)
def restore_threads():
    before = (threads.get_num_threads(), threads.threads_run_by())
    yield
    threads.set_num_threads(before[0], by=before[1])


def blas_threads():
    from threadpoolctl import threadpool_info
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


# -- the pool --

def test_in_parts_covers_the_range_once_on_several_threads():
    threads.set_num_threads(3, by="scratchgan")
    seen, lock = [], threading.Lock()

    def work(start, stop):
        time.sleep(0.01)  # long enough that no thread could take two parts
        with lock:
            seen.append((start, stop, threading.get_ident()))
    threads.parallel_range(work, 100)
    covered = sorted(i for start, stop, _ in seen for i in range(start, stop))
    assert covered == list(range(100))
    assert len({ident for *_, ident in seen}) == 3


def test_a_small_call_and_a_nested_call_stay_whole():
    threads.set_num_threads(4, by="scratchgan")
    calls = []
    threads.parallel_range(lambda start, stop: calls.append((start, stop)), 10, grain=8)
    assert calls == [(0, 10)]

    inner = []
    threads.parallel_range(
        lambda start, stop: threads.parallel_range(lambda i, j: inner.append((i, j)), 8), 4)
    assert sorted(inner) == [(0, 8)] * 4  # each of the 4 parts ran its inner call whole


def test_every_part_finishes_before_an_error_is_raised():
    threads.set_num_threads(2, by="scratchgan")
    finished = []

    def work(start, stop):
        if start == 0:
            raise RuntimeError("part 0 failed")
        time.sleep(0.05)
        finished.append(start)
    with pytest.raises(RuntimeError, match="part 0 failed"):
        threads.parallel_range(work, 2)
    assert finished == [1]  # the other part had written its output before the error came out

    def late_failure(start, stop):
        if start == 1:
            raise ValueError("part 1 failed")
    with pytest.raises(ValueError, match="part 1 failed"):
        threads.parallel_range(late_failure, 2)


def test_blas_runs_the_threads_when_asked():
    threads.set_num_threads(2, by="blas")
    calls = []
    threads.parallel_range(lambda start, stop: calls.append((start, stop)), 1000)
    assert calls == [(0, 1000)]
    assert blas_threads() == {2}
    threads.set_num_threads(2, by="scratchgan")
    assert blas_threads() == {1}  # its idle threads would spin on the cores our parts need


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_refuses_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="positive int"):
        B.set_num_threads(bad)


def test_a_bad_thread_count_in_the_environment_is_named_and_skipped(monkeypatch):
    monkeypatch.setenv("SCRATCHGAN_NUM_THREADS", "two")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    with pytest.warns(UserWarning, match="SCRATCHGAN_NUM_THREADS='two'"):
        assert threads._default_threads() == 3


def test_set_num_threads_refuses_an_unknown_runner():
    with pytest.raises(ValueError, match="'scratchgan' or 'blas'"):
        B.set_num_threads(2, by="openmp")


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_gets_a_pool_of_its_own():
    threads.set_num_threads(2, by="scratchgan")
    threads.parallel_range(lambda start, stop: None, 2)  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply_async(_cut_in_child).get(timeout=30) == list(range(10))


def _cut_in_child():
    out = []
    threads.parallel_range(lambda start, stop: out.extend(range(start, stop)), 10)
    return sorted(out)


# -- the same numbers with any number of threads --

def _run_with_threads(n, compute):
    threads.set_num_threads(n, by="scratchgan")
    B.seed(0)
    return [B.to_numpy(a) for a in compute()]


def _assert_same_for_any_thread_count(compute):
    one = _run_with_threads(1, compute)
    for n in (2, 3):
        for a, b in zip(one, _run_with_threads(n, compute)):
            numpy.testing.assert_array_equal(a, b, err_msg=f"{n} threads")


def _data(*shape, seed=1):
    return numpy.random.default_rng(seed).standard_normal(shape).astype(numpy.float32)


def _grads(y, *inputs):
    y.backward(Tensor(_data(*y.shape, seed=9)))
    return [y.array] + [t.grad.array for t in inputs]


@pytest.mark.parametrize("case", ["conv2d", "conv_transpose2d", "conv_transpose2d_stride1"])
def test_convolutions_cut_into_parts_give_the_same_numbers(case):
    def compute():
        if case == "conv2d":  # D's second layer: 64 -> 128 maps, 14 -> 7
            x, w, b = (Tensor(_data(*s, seed=i), requires_grad=True)
                       for i, s in enumerate([(32, 64, 14, 14), (128, 64, 5, 5), (128,)]))
            return _grads(F.conv2d(x, w, b, stride=2, padding=2), x, w, b)
        if case == "conv_transpose2d":  # G's second layer: 128 -> 64 maps, 7 -> 14
            x, w = (Tensor(_data(*s, seed=i), requires_grad=True)
                    for i, s in enumerate([(32, 128, 7, 7), (128, 64, 5, 5)]))
            return _grads(F.conv_transpose2d(x, w, stride=2, padding=2, output_padding=1), x, w)
        x, w = (Tensor(_data(*s, seed=i), requires_grad=True)  # G's first: 256 -> 128, 7 -> 7
                for i, s in enumerate([(32, 256, 7, 7), (256, 128, 5, 5)]))
        return _grads(F.conv_transpose2d(x, w, stride=1, padding=2), x, w)
    _assert_same_for_any_thread_count(compute)


@pytest.mark.parametrize("shape", [(64, 64, 14, 14), (64, 12544)])
def test_batch_norm_cut_by_channels_gives_the_same_numbers(shape):
    def compute():
        x = Tensor(_data(*shape), requires_grad=True)
        bn = nn.BatchNorm(shape[1])
        return _grads(bn(x), x, bn.weight, bn.bias) + [bn.running_mean.array, bn.running_var.array]
    _assert_same_for_any_thread_count(compute)


def test_element_wise_ops_cut_into_pieces_give_the_same_numbers():
    def compute():
        x = Tensor(_data(64, 64, 14, 14), requires_grad=True)
        y = F.dropout(F.leaky_relu(x, 0.2), 0.3) * Tensor(_data(64, 64, 14, 14, seed=2))
        return _grads(y, x) + [B.uniform((3, 2 ** 18))]
    _assert_same_for_any_thread_count(compute)


@pytest.mark.parametrize("shapes", [((3200, 256), (256, 6272)), ((128, 6272), (6272, 1600)),
                                    ((12544, 100), (100, 128)), ((6272, 1), (1, 128))])
def test_matrix_products_cut_into_parts_give_the_same_numbers(shapes):
    a, b = _data(*shapes[0]), _data(*shapes[1], seed=2)
    _assert_same_for_any_thread_count(lambda: [B.matmul(a, b),
                                               B.matmul(a, numpy.asfortranarray(b))])


def test_a_dcgan_training_step_gives_the_same_weights_on_any_number_of_threads():
    def compute():
        B.seed(0)
        G, D = build("dcgan", latent_dim=100)
        trainer = GANTrainer(G, D)
        threads.set_num_threads(threads.get_num_threads(), by=thread_policy(G, D))
        trainer.train_step(_data(32, 1, 28, 28).clip(-1, 1))
        return [p.array for p in G.parameters() + D.parameters()]
    _assert_same_for_any_thread_count(compute)


def test_blas_runs_the_threads_of_a_dense_gan_and_scratchgan_those_of_a_convolutional_one():
    assert thread_policy(*build("mlp", latent_dim=8)) == "blas"
    assert thread_policy(*build("dcgan", latent_dim=8)) == "scratchgan"
    before = threads.threads_run_by()
    GANTrainer(*build("mlp", latent_dim=8), latent_dim=8)
    assert threads.threads_run_by() == before  # building a trainer changes nothing global


def test_adam_updates_in_place_on_recycled_gradients():
    p = Tensor(_data(1024, 512), requires_grad=True)
    opt = Adam([p], lr=1e-3)
    before = p.array.copy()
    p.grad = Tensor(B.get_backend("numpy").empty(p.shape))
    p.grad.array[...] = 1.0
    opt.step()
    numpy.testing.assert_allclose(p.array, before - 1e-3, rtol=0, atol=1e-6)


# -- pooled memory --

def test_memory_in_use_is_never_handed_out_twice():
    pool = MemoryPool()
    a = pool.empty((1024, 1024), numpy.float32)
    view = a.T[::2]
    del a
    b = pool.empty((1024, 1024), numpy.float32)
    assert not numpy.shares_memory(view, b)  # the view still holds the first block
    address = b.__array_interface__["data"][0]
    del b
    c = pool.empty((1024, 1024), numpy.float32)
    assert c.__array_interface__["data"][0] == address  # unused again: reused, no page faults
    assert numpy.shares_memory(pool.empty((2048, 512), numpy.float32), c) is False
    del view, c
    assert pool.cached == 3 * 4 * 2 ** 20  # every block is back once its last view is gone


def test_a_block_comes_back_only_after_every_derived_array_is_gone():
    pool = MemoryPool()
    a = pool.empty((1024, 1024), numpy.float32)
    derived = [a.reshape(-1)[::3], a[1:].T.copy(), numpy.asarray(a[5]), a.view(numpy.int32)]
    del a
    copy = derived.pop(1)  # a copy has memory of its own
    while derived:
        assert pool.cached == 0
        derived.pop()
    assert pool.cached == 4 * 2 ** 20
    assert not numpy.shares_memory(copy, pool.empty((1024, 1024), numpy.float32))


def test_small_arrays_are_not_pooled_and_any_dtype_works():
    pool = MemoryPool()
    small = pool.empty((10, 10), numpy.float32)
    assert small.flags.owndata
    doubles = pool.empty((512, 512), numpy.float64)
    assert doubles.dtype == numpy.float64 and doubles.shape == (512, 512)
    doubles[...] = 1.5
    assert doubles.sum() == 1.5 * 512 * 512


def test_empty_like_keeps_the_memory_order():
    base = numpy.zeros((7, 7, 64, 128), numpy.float32).transpose(3, 0, 1, 2)  # (N, C, H, W) view
    made = B.get_backend("numpy").empty_like(base)
    assert made.shape == base.shape and made.strides == base.strides


def test_the_pool_keeps_no_more_unused_memory_than_its_limit():
    pool = MemoryPool(limit=9 * 2 ** 20)
    for size in (2 ** 20, 2 ** 20 + 1024, 2 ** 20 + 2048):  # 4 MiB each, unused once made
        pool.empty((size,), numpy.float32)
    assert pool.cached <= 9 * 2 ** 20 and len(pool.free) == 2  # the third did not fit
    pool.release()
    assert pool.cached == 0 and not pool.free


def test_a_free_block_serves_arrays_down_to_half_its_size():
    pool = MemoryPool()
    big = pool.empty((2 ** 20,), numpy.float32)  # 4 MiB
    address = big.__array_interface__["data"][0]
    del big
    half = pool.empty((2 ** 19 + 1,), numpy.float32)  # just over 2 MiB: the 4 MiB block serves
    assert half.__array_interface__["data"][0] == address and pool.cached == 0
    del half
    quarter = pool.empty((2 ** 18,), numpy.float32)  # 1 MiB: too small to tie up 4 MiB
    assert quarter.__array_interface__["data"][0] != address and pool.cached == 4 * 2 ** 20
