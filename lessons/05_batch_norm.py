"""Lesson 05: batch normalisation, and why it behaves differently in train() and eval().

In training, BatchNorm normalises each channel with the statistics of the current batch,
over every axis except the channel one ((N, H, W) for images):

    y = γ · (x - mean) / sqrt(var + eps) + β        var: the biased (divide by n) variance

and meanwhile keeps exponential moving averages for later use:

    running_mean ← (1 - momentum)·running_mean + momentum·mean
    running_var  ← (1 - momentum)·running_var  + momentum·var·n/(n - 1)    (unbiased!)

with momentum 0.1 (PyTorch's convention: the weight of the *new* value). In eval() the layer
uses the running statistics instead, so one sample's output no longer depends on the others in
its batch. A GAN generator sampled in eval mode soon after the start of training therefore
looks different from the same generator in train mode: the running statistics lag behind.

Run:  python lessons/05_batch_norm.py
"""
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import nn

EPS = 1e-5


def by_hand_vs_library():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((8, 3, 4, 4)) * 2 + 5).astype(np.float32)  # mean ~5, std ~2
    gamma = np.array([1.0, 2.0, 0.5], np.float32)
    beta = np.array([0.0, -1.0, 3.0], np.float32)

    axes = (0, 2, 3)  # every axis but channels
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # biased: this is what normalises the batch
    by_hand = gamma.reshape(1, 3, 1, 1) * (x - mean) / np.sqrt(var + EPS) + beta.reshape(1, 3, 1, 1)

    running_mean, running_var = np.zeros(3, np.float32), np.ones(3, np.float32)
    y = F.batch_norm(sg.tensor(x), running_mean, running_var, sg.tensor(gamma), sg.tensor(beta),
                     training=True, momentum=0.1, eps=EPS)
    print(f"input channel means {x.mean(axis=axes).round(2)}, stds {x.std(axis=axes).round(2)}")
    print(f"output channel means {y.numpy().mean(axis=axes).round(3)} (= beta), "
          f"stds {y.numpy().std(axis=axes).round(3)} (≈ |gamma|)")
    print(f"max |by hand - F.batch_norm| = {np.abs(by_hand - y.numpy()).max():.1e}")
    np.testing.assert_allclose(y.numpy(), by_hand, atol=1e-5)

    # The running statistics were updated in place, with the UNBIASED variance.
    n = x.size // 3
    expected_mean = 0.9 * 0 + 0.1 * mean.reshape(3)
    expected_var = 0.9 * 1 + 0.1 * var.reshape(3) * n / (n - 1)
    print(f"running_mean {running_mean.round(4)}  expected {expected_mean.round(4)}")
    print(f"running_var  {running_var.round(4)}  expected {expected_var.round(4)} "
          f"(n/(n-1) = {n}/{n - 1})")
    np.testing.assert_allclose(running_mean, expected_mean, rtol=1e-5)
    np.testing.assert_allclose(running_var, expected_var, rtol=1e-5)


def train_versus_eval():
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm2d(2)
    batch = sg.tensor((rng.standard_normal((16, 2, 3, 3)) * 3 + 4).astype(np.float32))
    x_mean, x_var = batch.numpy().mean(axis=(0, 2, 3)), batch.numpy().var(axis=(0, 2, 3), ddof=1)

    print("\nnn.BatchNorm2d fed the same batch again and again in train():")
    for step in range(1, 31):
        bn(batch)
        if step in (1, 5, 30):
            # After t steps from (0, 1): running = target + 0.9^t · (start - target).
            predicted = x_mean * (1 - 0.9 ** step)
            print(f"  step {step:2d}: running_mean {bn.running_mean.numpy().round(3)} "
                  f"(predicted {predicted.round(3)}), "
                  f"running_var {bn.running_var.numpy().round(3)}")
            np.testing.assert_allclose(bn.running_mean.numpy(), predicted, rtol=1e-4)
    print(f"  the batch: mean {x_mean.round(3)}, unbiased var {x_var.round(3)}")
    print(f"  num_batches_tracked = {bn.num_batches_tracked.item()}")

    one_sample = batch[:1]
    bn.train()
    try:
        bn(sg.tensor(np.ones((1, 2, 1, 1), np.float32)))  # one value per channel: no variance
    except ValueError as e:
        print(f"\ntrain() on a single value per channel fails: {e}")
    # In train mode, one sample's output depends on the batch it is in...
    alone = bn(batch[:2])[:1].numpy()
    in_batch = bn(batch)[:1].numpy()
    print(f"train(): sample 0 normalised within 2 vs 16 samples differs by "
          f"{np.abs(alone - in_batch).max():.3f}")
    # ...in eval mode it does not, and the running statistics are left alone.
    bn.eval()
    before = bn.running_mean.numpy().copy()
    a, b = bn(one_sample).numpy(), bn(batch)[:1].numpy()
    print(f"eval():  sample 0 alone vs in the batch differs by {np.abs(a - b).max():.1e}; "
          f"running_mean unchanged: {np.array_equal(before, bn.running_mean.numpy())}")
    assert np.abs(alone - in_batch).max() > 1e-3 and np.allclose(a, b, atol=1e-6)
    # eval() is the affine map γ(x - running_mean)/sqrt(running_var + eps) + β.
    rm, rv = bn.running_mean.numpy().reshape(1, 2, 1, 1), bn.running_var.numpy().reshape(1, 2, 1, 1)
    np.testing.assert_allclose(a, (one_sample.numpy() - rm) / np.sqrt(rv + EPS), atol=1e-5)


def main():
    by_hand_vs_library()
    train_versus_eval()


if __name__ == "__main__":
    main()
