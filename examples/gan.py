"""The original GAN (Goodfellow et al., 2014) with fully connected networks, on scratchgan.

Follows: eriklindernoren/PyTorch-GAN, implementations/gan/gan.py. The same options, the
``block()`` helper that builds the generator, the old-style ``Variable`` and
``Tensor = torch.FloatTensor`` idioms, ``BCELoss``, and a 5x5 grid of samples saved as
``images/<batches_done>.png`` every ``--sample_interval`` batches.

What changed against PyTorch:

* the imports bind ``torch`` to scratchgan;
* the data: ``MNISTLoader`` (this folder's ``mnist_loader.py``) in place of torchvision's MNIST
  and DataLoader; it gives the same (images, labels) batches in [-1, 1].

Run:

    python examples/gan.py --n_epochs 1

(``SCRATCHGAN_EXAMPLE_BATCHES=N`` stops each epoch after N batches.)
"""
import argparse
import os

import numpy as np
from mnist_loader import MNISTLoader

import scratchgan as torch
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
            # one hidden layer: affine map, optional batch norm (eps 0.8), leaky ReLU
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
        img = img.view(img.size(0), *img_shape)
        return img


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()

        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, img):
        img_flat = img.view(img.size(0), -1)
        validity = self.model(img_flat)
        return validity


# The loss: binary cross-entropy between D's output and the real / fake targets
adversarial_loss = torch.nn.BCELoss()

generator = Generator()
discriminator = Discriminator()

if cuda:
    generator.cuda()
    discriminator.cuda()
    adversarial_loss.cuda()

# scratchgan: MNIST from MNISTLoader, in place of torchvision's MNIST + DataLoader.
dataloader = MNISTLoader(opt.img_size, opt.channels, opt.batch_size, shuffle=True)

optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))

Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor

for epoch in range(opt.n_epochs):
    for i, (imgs, _) in enumerate(dataloader):

        # targets: 1 for real images, 0 for generated ones
        valid = Variable(Tensor(imgs.size(0), 1).fill_(1.0), requires_grad=False)
        fake = Variable(Tensor(imgs.size(0), 1).fill_(0.0), requires_grad=False)

        real_imgs = Variable(imgs.type(Tensor))

        # The generator: make D call its images real
        optimizer_G.zero_grad()

        z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim))))

        gen_imgs = generator(z)

        g_loss = adversarial_loss(discriminator(gen_imgs), valid)

        g_loss.backward()
        optimizer_G.step()

        # The discriminator: tell the real images from the generated ones
        optimizer_D.zero_grad()

        real_loss = adversarial_loss(discriminator(real_imgs), valid)
        fake_loss = adversarial_loss(discriminator(gen_imgs.detach()), fake)
        d_loss = (real_loss + fake_loss) / 2

        d_loss.backward()
        optimizer_D.step()

        print("epoch %d/%d, batch %d/%d: D loss %f, G loss %f"
              % (epoch, opt.n_epochs, i, len(dataloader), d_loss.item(), g_loss.item()))

        batches_done = epoch * len(dataloader) + i
        if batches_done % opt.sample_interval == 0:
            save_image(gen_imgs.data[:25], "images/%d.png" % batches_done, nrow=5, normalize=True)
