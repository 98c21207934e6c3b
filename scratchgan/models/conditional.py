"""Conditional GANs: G(z, y) draws class y, D(x, y) judges whether x is a real image of class y.

The class enters both networks as a one-hot vector y (N, n_classes). Integer labels are turned
into one; a float (N, n_classes) row is taken as it is, so a blend of two one-hot vectors morphs
one class into another (scratchgan.edit.class_morph). ``LabelEmbedding`` maps y to a learned
vector y·E: for a one-hot y that is row y of E, PyTorch's nn.Embedding, and for a blend it is
the same blend of rows.

- "cgan" (MNIST), as PyTorch-GAN's cgan: the label's embedding (N(0, 1) at first, as
  nn.Embedding's) is concatenated to z at G's input and to the flattened image at D's. A bare
  one-hot vector would be a far weaker signal beside z's 100 N(0, 1) values or the image's 784
  pixels, and the networks learned to heed it only slowly.
- "image-dcgan" with ``n_classes`` (image folders with class subfolders): G takes [z, embedded y]
  as its input maps. D is a projection discriminator (Miyato & Koyama 2018):
  D(x, y) = w·φ(x) + ⟨embed(y), φ(x)⟩ with φ(x) the last feature maps summed over space. We chose
  projection over concatenating y as constant maps: the class costs one inner product at the end
  instead of n_classes extra input channels through a convolution, and the projection is what
  conditional convolutional GANs (SNGAN, BigGAN) use.
"""
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn
from scratchgan.models.image_dcgan import ImageDiscriminator, ImageGenerator
from scratchgan.models.mlp import MLPDiscriminator, MLPGenerator
from scratchgan.tensor import Tensor


def one_hot(labels, n_classes, like):
    """``labels`` as a float (N, n_classes) Tensor on ``like``'s backend.

    labels: integers (N,) (a list, an array or a Tensor), or already a float (N, n_classes) row
    per sample (a soft label, for morphs).
    """
    xp = B.xp_of(like.array)
    y = labels.array if isinstance(labels, Tensor) else xp.asarray(labels)
    if y.dtype.kind == "f":
        if y.ndim != 2 or y.shape[1] != n_classes:
            raise ValueError(f"conditional model: soft labels must be (N, {n_classes}), "
                             f"got {y.shape}")
        return Tensor._wrap(y.astype(B.DTYPE, copy=False))
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise ValueError(f"conditional model: labels must be integers (N,), got {y.dtype} "
                         f"{y.shape}")
    if y.size and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"conditional model: labels must be in [0, {n_classes}), "
                         f"got {int(y.min())}..{int(y.max())}")
    return Tensor._wrap(xp.eye(n_classes, dtype=B.DTYPE)[y])


class LabelEmbedding(nn.Module):
    """One-hot (or blended) labels (N, n_classes) -> y·E (N, dim); E is N(0, 1) at first."""

    def __init__(self, n_classes, dim):
        super().__init__()
        self.weight = nn.Parameter(B.normal((n_classes, dim)))

    def forward(self, y):
        # y·E: row y of E for a one-hot y;  dE = yᵀ·gy, dy = gy·Eᵀ (MatMul's backward)
        return F.matmul(y, self.weight)


def _check_batch(name, x, y):
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: {y.shape[0]} labels for a batch of {x.shape[0]}")


class ConditionalMLPGenerator(nn.Module):
    """(z (N, latent_dim), labels) -> images (N, 1, 28, 28): the MLP generator on [z, y]."""

    def __init__(self, latent_dim=100, n_classes=10, hidden=(256, 512, 1024), negative_slope=0.2,
                 batch_norm=False):
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.embed = LabelEmbedding(n_classes, n_classes)
        self.body = MLPGenerator(latent_dim + n_classes, hidden, negative_slope, batch_norm)

    def forward(self, z, labels):
        y = one_hot(labels, self.n_classes, z)
        _check_batch("cgan generator", z, y)
        return self.body(F.concat([z, self.embed(y)], axis=1))


class ConditionalMLPDiscriminator(nn.Module):
    """(images (N, 1, 28, 28), labels) -> logits (N, 1): the MLP discriminator on [x, y]."""

    def __init__(self, n_classes=10, hidden=(512, 256), negative_slope=0.2, dropout=0.0):
        super().__init__()
        self.n_classes = n_classes
        self.embed = LabelEmbedding(n_classes, n_classes)
        self.body = MLPDiscriminator(hidden, negative_slope, inputs=28 * 28 + n_classes,
                                     dropout=dropout)

    def forward(self, x, labels):
        y = one_hot(labels, self.n_classes, x)
        _check_batch("cgan discriminator", x, y)
        return self.body(F.concat([x.reshape(x.shape[0], -1), self.embed(y)], axis=1))


class ConditionalImageGenerator(ImageGenerator):
    """(z, labels) -> images (N, channels, size, size): the DCGAN generator on [z, y·E]."""

    def __init__(self, latent_dim=100, n_classes=2, size=64, channels=3, width=64):
        super().__init__(latent_dim + n_classes, size, channels, width)
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.embed = LabelEmbedding(n_classes, n_classes)

    def forward(self, z, labels):
        y = one_hot(labels, self.n_classes, z)
        _check_batch("image-dcgan generator", z, y)
        joined = F.concat([z, self.embed(y)], axis=1)
        return self.net(joined.reshape(z.shape[0], joined.shape[1], 1, 1))


class ProjectionImageDiscriminator(nn.Module):
    """(images, labels) -> scores (N, 1) = w·φ(x) + ⟨embed(y), φ(x)⟩ (the module docstring).

    φ is the unconditional DCGAN discriminator up to its last 4x4 convolution, which is w.
    """

    def __init__(self, n_classes=2, size=64, channels=3, width=64, norm="batch"):
        super().__init__()
        self.n_classes = n_classes
        layers = list(ImageDiscriminator(size, channels, width, norm).net)
        self.features = nn.Sequential(*layers[:-2])     # φ(x): maps (N, F, 4, 4)
        self.score = nn.Sequential(*layers[-2:])        # w·φ(x): (N, 1)
        self.embed = nn.Linear(n_classes, layers[-2].in_channels, bias=False)  # one-hot · E

    def forward(self, x, labels):
        y = one_hot(labels, self.n_classes, x)
        _check_batch("image-dcgan discriminator", x, y)
        h = self.features(x)
        return self.score(h) + (self.embed(y) * h.sum(axis=(2, 3))).sum(axis=1, keepdims=True)
