"""Lesson 08: a convolutional GAN (DCGAN), trained with the library's trainer.

Lesson 07 wrote the GAN step out by hand. ``scratchgan.trainer.GANTrainer.train_step`` is that
same step (D on real and detached fakes, then the non-saturating G loss through the updated D),
and ``scratchgan.run.train`` wraps it in everything a real run needs: shuffled epochs, a fixed
noise grid per epoch, a CSV of losses and their plot, an animated GIF, and an atomic checkpoint
from which ``resume=True`` continues exactly where the run stopped.

The networks come from ``scratchgan.models.build("dcgan")``, the TensorFlow tutorial's DCGAN:
    G: z -> Dense -> 256×7×7 -> ConvT(k5, s1) 7×7 -> ConvT(k5, s2) 14×14 -> ConvT(k5, s2) 28×28
       -> tanh
    D: Conv(k5, s2) 14×14 -> Conv(k5, s2) 7×7 -> Dense -> logit
with batch norm in G (lesson 05), dropout in D, and the DCGAN paper's N(0, 0.02) weights. The
5×5 stride-2 transposed convolutions need output_padding=1 to land on 14 and 28 (lesson 04).

The full-width model takes about a third of a second per step on two CPU cores, so by default
this lesson trains a half-width copy (same layers, half the channels, ~0.12 s per step) for 10
epochs of 200 steps, about four minutes. By then the grids show rough but mostly recognisable
digits (classifier score ~5.5 of 10); a DCGAN needs thousands of steps more to draw clean ones:
raise ``--epochs``, or train the real thing with ``--width 1`` (on a GPU: ``--backend cupy``).

Run:  python lessons/08_dcgan_with_the_trainer.py [--epochs 10] [--width 0.5] [--out DIR] [--quick]
"""
import argparse
import os
from pathlib import Path

import numpy as np

import scratchgan as sg
from scratchgan import models
from scratchgan.data import mnist_dataset
from scratchgan.run import TrainConfig, noise, train
from scratchgan.trainer import GANTrainer


def channels(width):
    g, d = (256, 128, 64), (64, 128)  # the tutorial's widths
    return dict(g_channels=tuple(max(1, round(c * width)) for c in g),
                d_channels=tuple(max(1, round(c * width)) for c in d))


def look_at_the_networks(options):
    sg.seed(0)
    G, D = models.build("dcgan", latent_dim=100, **options)
    print(G)
    print(f"G: {sum(p.numel() for p in G.parameters()):,} parameters, D: "
          f"{sum(p.numel() for p in D.parameters()):,}\n")
    # Follow the shapes through G, layer by layer (train mode: batch norm uses batch statistics).
    x = sg.tensor(np.random.default_rng(0).standard_normal((4, 100), dtype=np.float32))
    with sg.no_grad():
        for layer in G.net:
            x = layer(x)
            if type(layer).__name__ in ("Dense", "Linear", "Reshape", "ConvTranspose2d", "Tanh"):
                print(f"  {type(layer).__name__:16s} -> {x.shape}")
        print(f"  D(G(z)) logits   -> {D(x).shape}\n")
    return G, D


def one_step_by_hand(G, D):
    # The trainer's step is lesson 07's loop, for any pair of networks. It draws z and the
    # dropout masks from the backend's generator, which the caller seeds (train() uses seed+1).
    sg.seed(1)
    trainer = GANTrainer(G, D, latent_dim=100, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))
    real, _ = mnist_dataset(limit=32)
    for i in range(2):
        stats = trainer.train_step(real)
        print(f"train_step {i + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in stats.items()))
    assert all(np.isfinite(list(stats.values())))


def whole_run(out, epochs, images, options, quick, backend):
    def report(event):  # train() calls back at every logged step, each epoch, and the end
        if event.kind == "epoch":
            s = event.stats
            print(f"epoch {event.epoch}: step {event.step}, D loss {s['d_loss']:.3f}, "
                  f"G loss {s['g_loss']:.3f}, D(x) {s['d_real']:.2f}, D(G(z)) {s['d_fake']:.2f} "
                  f"-> {event.grid_path}")

    config = TrainConfig(model="dcgan", model_options=options, epochs=epochs, limit=images,
                         batch_size=64, out=str(out), overwrite=True, progress=not quick,
                         log_every=1 if quick else 10, backend=backend)
    result = train(config, callback=report)
    print(f"\nstopped: {result.stopped} after {result.step} steps; files in {out}:")
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"  {path.relative_to(out)}")

    # A checkpoint holds the networks, both Adams, the RNG states and the history: resume
    # continues the same run (here: one more epoch) as if it had never stopped.
    resumed = train(TrainConfig(out=str(out), resume=True, epochs=epochs + 1, progress=not quick,
                                backend=backend), callback=report)
    print(f"resumed: now {resumed.epoch} epochs, {resumed.step} steps")
    assert resumed.step == result.step * (epochs + 1) // epochs
    return resumed


def score(result, n):
    """Classifier score of n fresh samples (lesson 10); real digits score about 9.6 to 9.8."""
    from scratchgan.metrics import classifier_score, features_and_proba
    # eval mode: batch norm uses its running statistics
    samples = result.trainer.generate(noise(n, result.config.latent_dim, seed=123))
    _, probs = features_and_proba(samples)
    print(f"classifier score of {n} samples: {classifier_score(probs):.2f} "
          "(1 = no digits, 10 = perfect)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--images", type=int, default=12800,
                        help="MNIST images per epoch (64 per step)")
    parser.add_argument("--width", type=float, default=0.5,
                        help="channel multiplier; 1 is the tutorial's DCGAN")
    parser.add_argument("--backend", default="numpy", help="numpy, or cupy on an NVIDIA GPU")
    parser.add_argument("--out", type=Path, default=Path("/tmp/scratchgan_lessons/08"))
    parser.add_argument("--quick", action="store_true", help="two tiny epochs (for tests)")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
    epochs, images = (1, 128) if quick else (args.epochs, args.images)

    options = channels(args.width)
    G, D = look_at_the_networks(options)
    one_step_by_hand(G, D)
    print()
    result = whole_run(args.out, epochs, images, options, quick, args.backend)
    if not quick:
        score(result, 1000)
    print(f"\nlook at {args.out / 'samples'} (one grid per epoch) and {args.out / 'progress.gif'}")


if __name__ == "__main__":
    main()
