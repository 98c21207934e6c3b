"""The adversarial step: one discriminator update, then one generator update (``GANTrainer``).

``scratchgan.run`` wraps it into whole runs with checkpoints; the benchmarks time exactly
``GANTrainer.train_step``. Constructing a trainer changes nothing outside it: whoever runs it
seeds the backend's generator (which draws z and the dropout masks) and picks the CPU threads'
policy with ``thread_policy``.
"""
import copy

import numpy

from scratchgan import backend as B, nn
from scratchgan.losses import get_loss
from scratchgan.models.conditional import one_hot
from scratchgan.optim import Adam
from scratchgan.tensor import Tensor, no_grad


def thread_policy(*models):
    """Who should run the NumPy backend's threads for these networks: "scratchgan" or "blas".

    A convolution's products and maps are big enough to cut into parts on our threads; a dense
    net's small products run faster on BLAS's own (backend/threads.py says why). Apply it with
    ``B.set_num_threads(B.get_num_threads(), by=thread_policy(G, D))``.
    """
    layers = [m for model in models for m in model.modules()]
    convolutional = any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in layers)
    return "scratchgan" if convolutional else "blas"


def generate_images(generator, z, batch_size=500, labels=None):
    """G(z) for host noise z (N, latent_dim), in eval mode and without a graph, as host float32
    (N, C, H, W); a conditional G draws class ``labels[i]`` (integers, or soft one-hot rows) for
    z[i].

    Batches bound the memory a large N needs; the generator's train/eval mode is restored after.
    """
    owner = B.backend_of(generator.parameters()[0].array)
    conditional = getattr(generator, "n_classes", 0) > 0
    if conditional and labels is None:
        raise ValueError("a conditional generator needs the labels to draw")
    was_training = generator.training
    generator.eval()
    try:
        with no_grad():
            parts = []
            for i in range(0, len(z), batch_size):
                batch = [Tensor._wrap(owner.asarray(z[i:i + batch_size]))]
                if conditional:
                    batch.append(owner.asarray(labels[i:i + batch_size]))
                parts.append(B.to_numpy(generator(*batch).array))
    finally:
        generator.train(was_training)
    return numpy.concatenate(parts)


class GANTrainer:
    """One Adam per network and the adversarial step of a loss from scratchgan.losses.

    Each ``train_step`` updates D once; G is updated too when ``update_generator`` (the run asks
    for it every ``loss.n_critic`` steps: 5 critic steps per G step under WGAN-GP). z and the
    dropout masks come from the networks' backend generator.

    Conditional networks (scratchgan.models.conditional) get the batch's labels: D judges each
    real image with its own class, and G draws the same classes for the fakes, so real and fake
    batches hold the same classes in the same proportions (a folder's uneven classes included),
    and D cannot tell them apart by their labels.
    """

    def __init__(self, generator, discriminator, latent_dim=100, lr_g=2e-4, lr_d=2e-4,
                 betas=(0.5, 0.999), loss="bce", ema=None):
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.backend = B.backend_of(generator.parameters()[0].array)
        if B.backend_of(discriminator.parameters()[0].array) is not self.backend:
            raise ValueError("GANTrainer: the generator and the discriminator live on different "
                             "backends")
        self.loss = get_loss(loss) if isinstance(loss, str) else loss
        self.opt_g = Adam(generator.parameters(), lr=lr_g, betas=betas)
        self.opt_d = Adam(discriminator.parameters(), lr=lr_d, betas=betas)
        self.g_loss = None  # G's last loss (an array), reported again on critic-only steps
        self.average = None if not ema else MovingAverage(generator, ema, latent_dim)

    def _as_batch(self, real):
        data = real.array if isinstance(real, Tensor) else real
        if not isinstance(data, self.backend.array_type):
            data = self.backend.asarray(data)
        if data.dtype != B.DTYPE or data.ndim != 4:
            raise TypeError(f"train_step: expected float32 images (N, C, H, W), "
                            f"got {data.dtype} {data.shape}")
        return Tensor._wrap(data)

    def train_step(self, real, update_generator=True, labels=None):
        """One D update, then one G update if ``update_generator``, on the batch ``real`` (and
        its ``labels``, for conditional networks).

        Returns the step's statistics as floats: d_loss, g_loss and the loss's own
        (``loss.stat_names``: D(x) and D(G(z)) for BCE; critic scores, the Wasserstein estimate
        and the gradient penalty for WGAN-GP).
        """
        G, D = self.generator, self.discriminator
        real = self._as_batch(real)
        z = Tensor._wrap(self.backend.normal((real.shape[0], self.latent_dim)))
        if getattr(G, "n_classes", 0):
            if labels is None:
                raise ValueError("train_step: a conditional GAN needs the batch's labels")
            # checked and made one-hot once, for G's pass and D's three
            y = one_hot(labels if isinstance(labels, Tensor) else self.backend.asarray(labels),
                        G.n_classes, z).array
            fake = G(z, y)
            D = _Conditioned(D, y)
        else:
            fake = G(z)

        # D's update. The detached fake keeps G out of this backward.
        d_loss, stats = self.loss.discriminator(D, real, fake.detach())
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        # Keep D's numbers, drop its graph: its saved activations need not outlive this update.
        numbers = [d_loss.array] + [stats[name].array for name in self.loss.stat_names]
        del d_loss, stats

        if update_generator:
            # G's update: a fresh pass through the updated D. D's parameters stop requiring grad
            # meanwhile, so no gradient is computed for them in vain.
            self.discriminator.requires_grad_(False)
            try:
                g_loss = self.loss.generator(D, fake)
                self.opt_g.zero_grad()
                g_loss.backward()
            finally:
                self.discriminator.requires_grad_(True)
            self.opt_g.step()
            self.g_loss = g_loss.array
            if self.average is not None:
                self.average.update(G)
        xp = self.backend.xp
        g_number = self.g_loss if self.g_loss is not None else xp.asarray(float("nan"), B.DTYPE)
        values = B.to_numpy(xp.stack([numbers[0], g_number] + numbers[1:])).tolist()
        return dict(zip(("d_loss", "g_loss") + self.loss.stat_names, values))  # one transfer

    @property
    def sampler(self):
        """The generator that draws samples: the moving average of G's weights when the trainer
        keeps one (batch norm statistics measured for its weights), else G itself."""
        return self.generator if self.average is None else self.average.ready()

    def generate(self, z, batch_size=500, labels=None, raw=False):
        """Images G(z) as a host float32 array (N, C, H, W), in eval mode (BatchNorm running
        stats), from ``sampler`` (``raw``: from G itself); ``labels`` for a conditional G."""
        return generate_images(self.generator if raw else self.sampler, z, batch_size, labels)

    def get_rng_state(self):
        return self.backend.get_rng_state()

    def set_rng_state(self, state):
        if state is not None:
            self.backend.set_rng_state(state)


class MovingAverage:
    """A copy of G whose weights follow G's slowly: after every G update,
    w_avg ← β·w_avg + (1 − β)·w, with β = min(decay, (1 + t)/(10 + t)) after t updates (a short
    warm-up, so the first weights are soon forgotten). Averaging smooths out the oscillation of
    GAN training: the average draws better samples than G itself at any moment (Yazıcı et al.
    2019; StyleGAN, BigGAN).

    Batch norm's running statistics belong to the weights that produced them, and G's do not fit
    the averaged weights; ``ready`` measures the average's own on fixed noise ("standing
    statistics", as BigGAN) before it draws or is saved.
    """
    STATISTICS_BATCHES, STATISTICS_BATCH_SIZE = 10, 256
    # A stream of its own: the library's latents come from int seeds or [seed, epoch] pairs, so
    # the statistics are never measured on the very latents a grid or an evaluation draws.
    STATISTICS_SEED = [1, 2, 3]  # (trailing zeros would not do: numpy reads [0, 0, 0] as 0)

    def __init__(self, generator, decay=0.999, latent_dim=100):
        if not 0 < decay < 1:
            raise ValueError(f"the moving average's decay must be in (0, 1), got {decay}")
        self.decay, self.updates, self.latent_dim = decay, 0, latent_dim
        self.module = copy.deepcopy(generator).requires_grad_(False)
        self.measured_at = None  # self.updates when the statistics were last measured

    def update(self, generator):
        self.updates += 1
        beta = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, weight in zip(self.module.parameters(), generator.parameters()):
            average.array *= beta
            average.array += (1 - beta) * weight.array

    def ready(self):
        """The averaged generator, its batch norm statistics measured for its present weights."""
        norms = [m for m in self.module.modules() if getattr(m, "track_running_stats", False)]
        if norms and self.measured_at != self.updates:
            self._measure_statistics(norms)
        self.measured_at = self.updates
        return self.module

    def _measure_statistics(self, norms):
        # the plain average over fixed noise (batch k weighs 1/k into the running values): the
        # same weights always give the same statistics, and the training's streams are left alone
        G, n, size = self.module, self.STATISTICS_BATCHES, self.STATISTICS_BATCH_SIZE
        owner = B.backend_of(G.parameters()[0].array)
        z = numpy.random.default_rng(self.STATISTICS_SEED).standard_normal(
            (n * size, self.latent_dim), dtype=numpy.float32)
        labels = numpy.arange(n * size) % G.n_classes if getattr(G, "n_classes", 0) else None
        momenta, was_training = [m.momentum for m in norms], G.training
        G.train()
        try:
            with no_grad():
                for k, i in enumerate(range(0, n * size, size)):
                    for m in norms:
                        m.momentum = 1.0 / (k + 1)  # 1 for the first batch: nothing kept before
                        m.num_batches_tracked.array[...] = 0
                    batch = [Tensor._wrap(owner.asarray(z[i:i + size]))]
                    if labels is not None:
                        batch.append(owner.asarray(labels[i:i + size]))
                    G(*batch)
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
            G.train(was_training)


class _Conditioned:
    """D with the batch's labels bound: what the losses call as D(x) (x of the same batch)."""

    def __init__(self, discriminator, labels):
        self.discriminator, self.labels = discriminator, labels

    def __call__(self, x):
        return self.discriminator(x, self.labels)


class CollapseMonitor:
    """Warns when the discriminator wins outright for ``patience`` logged steps in a row.

    A D loss near 0 (or D(G(z)) near 0) means G's gradient has vanished or G has collapsed.
    """

    def __init__(self, patience=20, d_loss_below=0.01, d_fake_below=1e-3):
        self.patience, self.d_loss_below, self.d_fake_below = patience, d_loss_below, d_fake_below
        self.run, self.warned = 0, False

    def update(self, stats, epoch, step):
        if stats["d_loss"] < self.d_loss_below or stats["d_fake"] < self.d_fake_below:
            self.run += 1
        else:
            self.run, self.warned = 0, False
        if self.run >= self.patience and not self.warned:
            self.warned = True
            return (f"warning: epoch {epoch}, step {step}: the discriminator has won for "
                    f"{self.run} logged steps (D loss {stats['d_loss']:.2g}, "
                    f"D(G(z)) {stats['d_fake']:.2g}); the generator's gradient is vanishing or it "
                    "has collapsed: try a lower --lr-d or restart with another --seed")
        return None
