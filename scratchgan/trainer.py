"""The adversarial step: one discriminator update, then one generator update (``GANTrainer``).

``scratchgan.run`` wraps it into whole runs with checkpoints; the benchmarks time exactly
``GANTrainer.train_step``. Constructing a trainer changes nothing outside it: whoever runs it
seeds the backend's generator (which draws z and the dropout masks) and picks the CPU threads'
policy with ``thread_policy``.
"""
import numpy

from scratchgan import backend as B, nn
from scratchgan import functional as F
from scratchgan.losses import discriminator_loss, generator_loss
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


def generate_images(generator, z, batch_size=500):
    """G(z) for host noise z (N, latent_dim), in eval mode and without a graph, as host float32
    (N, 1, 28, 28).

    Batches bound the memory a large N needs; the generator's train/eval mode is restored after.
    """
    owner = B.backend_of(generator.parameters()[0].array)
    was_training = generator.training
    generator.eval()
    try:
        with no_grad():
            parts = [B.to_numpy(generator(Tensor._wrap(owner.asarray(z[i:i + batch_size]))).array)
                     for i in range(0, len(z), batch_size)]
    finally:
        generator.train(was_training)
    return numpy.concatenate(parts)


class GANTrainer:
    """One Adam per network and the standard GAN step (scratchgan.losses: BCE on logits,
    non-saturating G loss). z and the dropout masks come from the networks' backend generator."""

    def __init__(self, generator, discriminator, latent_dim=100, lr_g=2e-4, lr_d=2e-4,
                 betas=(0.5, 0.999)):
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.backend = B.backend_of(generator.parameters()[0].array)
        if B.backend_of(discriminator.parameters()[0].array) is not self.backend:
            raise ValueError("GANTrainer: the generator and the discriminator live on different "
                             "backends")
        self.opt_g = Adam(generator.parameters(), lr=lr_g, betas=betas)
        self.opt_d = Adam(discriminator.parameters(), lr=lr_d, betas=betas)

    def _as_batch(self, real):
        data = real.array if isinstance(real, Tensor) else real
        if not isinstance(data, self.backend.array_type):
            data = self.backend.asarray(data)
        if data.dtype != B.DTYPE or data.ndim != 4:
            raise TypeError(f"train_step: expected float32 images (N, 1, 28, 28), "
                            f"got {data.dtype} {data.shape}")
        return Tensor._wrap(data)

    def train_step(self, real):
        """One D update then one G update on the batch ``real``; returns the step's statistics.

        dict(d_loss, g_loss, d_real, d_fake): the two losses of scratchgan.losses, and D(x),
        D(G(z)) the mean probabilities the discriminator gave, as floats.
        """
        G, D = self.generator, self.discriminator
        real = self._as_batch(real)
        z = Tensor._wrap(self.backend.normal((real.shape[0], self.latent_dim)))
        fake = G(z)

        # Discriminator: real -> 1, fake -> 0. The detached fake keeps G out of this backward.
        real_logits, fake_logits = D(real), D(fake.detach())
        d_loss = discriminator_loss(real_logits, fake_logits)
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        # Keep D's numbers, drop its graphs: their saved activations need not outlive this update.
        with no_grad():
            d_stats = [d_loss.array, F.sigmoid(real_logits).array.mean(),
                       F.sigmoid(fake_logits).array.mean()]
        del d_loss, real_logits, fake_logits

        # Generator: a fresh pass through the updated D, labelled "real" (non-saturating loss).
        # D's parameters stop requiring grad meanwhile, so no gradient is computed for them in vain.
        D.requires_grad_(False)
        try:
            g_loss = generator_loss(D(fake))
            self.opt_g.zero_grad()
            g_loss.backward()
        finally:
            D.requires_grad_(True)
        self.opt_g.step()

        xp = self.backend.xp
        stats = xp.stack([d_stats[0], g_loss.array, d_stats[1], d_stats[2]])
        d_loss, g_loss, d_real, d_fake = B.to_numpy(stats).tolist()  # the step's one host transfer
        return dict(d_loss=d_loss, g_loss=g_loss, d_real=d_real, d_fake=d_fake)

    def generate(self, z, batch_size=500):
        """Images G(z) as a host float32 array (N, 1, 28, 28), G in eval mode (BatchNorm running
        stats)."""
        return generate_images(self.generator, z, batch_size)

    def get_rng_state(self):
        return self.backend.get_rng_state()

    def set_rng_state(self, state):
        if state is not None:
            self.backend.set_rng_state(state)


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
