"""Wasserstein GAN with gradient penalty (Gulrajani et al., 2017), on scratchgan.

Follows: eriklindernoren/PyTorch-GAN, implementations/wgan_gp/wgan_gp.py. The same options,
fully connected networks (a critic without batch norm and without a sigmoid),
``compute_gradient_penalty`` built on ``autograd.grad(..., create_graph=True)`` so that the
penalty's own gradient reaches the critic's weights, a critic step every batch and a generator
step every ``--n_critic`` batches, Adam with lr 0.0002 and betas (0.5, 0.999), and a 5x5 grid
of samples saved as ``images/<batches_done>.png``.

What changed against PyTorch:

* the imports bind ``torch`` to scratchgan;
* the data: ``MNISTLoader`` (this folder's ``mnist_loader.py``) in place of torchvision's MNIST
  and DataLoader; it gives the same (images, labels) batches in [-1, 1].

Run:

    python examples/wgan_gp.py --n_epochs 1

(``SCRATCHGAN_EXAMPLE_BATCHES=N`` stops each epoch after N batches.)
"""
import argparse
import os

import numpy as np
from mnist_loader import MNISTLoader

import scratchgan as torch
import scratchgan.autograd as autograd
import scratchgan.nn as nn
from scratchgan.autograd import Variable
from scratchgan.utils import save_image

os.makedirs("images", exist_ok=True)

parser = argparse.ArgumentParser()
parser.add_argument("--n_epochs", type=int, default=200, help="epochs")
parser.add_argument("--batch_size", type=int, default=64, help="images per step")
parser.add_argument("--lr", type=float, default=0.0002, help="Adam's learning rate")
parser.add_argument("--b1", type=float, default=0.5, help="Adam's beta1")
parser.add_argument("--b2", type=float, default=0.999, help="Adam's beta2")
parser.add_argument("--n_cpu", type=int, default=8, help="loader workers (unused here)")
parser.add_argument("--latent_dim", type=int, default=100, help="length of the noise vector")
parser.add_argument("--img_size", type=int, default=28, help="side of the square images")
parser.add_argument("--channels", type=int, default=1, help="image channels")
parser.add_argument("--n_critic", type=int, default=5,
                    help="critic steps for each generator step")
parser.add_argument("--clip_value", type=float, default=0.01,
                    help="weight clipping of the plain WGAN (unused with the penalty)")
parser.add_argument("--sample_interval", type=int, default=400,
                    help="batches between two saved grids of samples")
opt = parser.parse_args()
print(opt)

img_shape = (opt.channels, opt.img_size, opt.img_size)

cuda = True if torch.cuda.is_available() else False


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(opt.latent_dim, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, int(np.prod(img_shape))),
            nn.Tanh()
        )

    def forward(self, z):
        img = self.model(z)
        img = img.view(img.shape[0], *img_shape)
        return img


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()

        # no batch norm: the penalty is on each image's own gradient
        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
        )

    def forward(self, img):
        img_flat = img.view(img.shape[0], -1)
        validity = self.model(img_flat)
        return validity


# weight of the gradient penalty in the critic's loss
lambda_gp = 10

generator = Generator()
discriminator = Discriminator()

if cuda:
    generator.cuda()
    discriminator.cuda()

# scratchgan: MNIST from MNISTLoader, in place of torchvision's MNIST + DataLoader.
dataloader = MNISTLoader(opt.img_size, opt.channels, opt.batch_size, shuffle=True)

optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))

Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor


def compute_gradient_penalty(D, real_samples, fake_samples):
    """mean over the batch of (||grad_x D(x)|| - 1)^2, at points x on the lines between real
    and generated images, a random point on each."""
    # one uniform weight per image
    alpha = Tensor(np.random.random((real_samples.size(0), 1, 1, 1)))
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = D(interpolates)
    # d(sum of D's outputs)/dx: each output's weight in the vector-Jacobian product is 1
    fake = Variable(Tensor(real_samples.shape[0], 1).fill_(1.0), requires_grad=False)
    gradients = autograd.grad(
        outputs=d_interpolates,
        inputs=interpolates,
        grad_outputs=fake,
        create_graph=True,
        retain_graph=True,
        only_inputs=True,
    )[0]
    gradients = gradients.view(gradients.size(0), -1)
    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
    return gradient_penalty


batches_done = 0
for epoch in range(opt.n_epochs):
    for i, (imgs, _) in enumerate(dataloader):

        real_imgs = Variable(imgs.type(Tensor))

        # The critic: high scores for real images, low for generated ones, gradients near 1
        optimizer_D.zero_grad()

        z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim))))

        fake_imgs = generator(z)

        real_validity = discriminator(real_imgs)
        fake_validity = discriminator(fake_imgs)
        gradient_penalty = compute_gradient_penalty(discriminator, real_imgs.data, fake_imgs.data)
        d_loss = (-torch.mean(real_validity) + torch.mean(fake_validity)
                  + lambda_gp * gradient_penalty)

        d_loss.backward()
        optimizer_D.step()

        optimizer_G.zero_grad()

        # The generator, once every n_critic batches: raise the critic's score of its images
        if i % opt.n_critic == 0:

            fake_imgs = generator(z)
            fake_validity = discriminator(fake_imgs)
            g_loss = -torch.mean(fake_validity)

            g_loss.backward()
            optimizer_G.step()

            print("epoch %d/%d, batch %d/%d: D loss %f, G loss %f"
                  % (epoch, opt.n_epochs, i, len(dataloader), d_loss.item(), g_loss.item()))

            if batches_done % opt.sample_interval == 0:
                save_image(fake_imgs.data[:25], "images/%d.png" % batches_done, nrow=5,
                           normalize=True)

            batches_done += opt.n_critic
