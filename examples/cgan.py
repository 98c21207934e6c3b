"""A conditional GAN (Mirza and Osindero, 2014): both networks see the digit's class.

Follows: eriklindernoren/PyTorch-GAN, implementations/cgan/cgan.py. The same options, class
labels embedded with ``nn.Embedding`` and joined to the noise (G) or the flattened image (D) with
``torch.cat``, a least-squares loss (``MSELoss``) on D's raw output, ``Dropout`` in D, and
``sample_image``, which saves a 10x10 grid as ``images/<batches_done>.png`` every
``--sample_interval`` batches: row after row of the classes 0 to 9, so that each column holds
one digit.

What changed against PyTorch:

* the imports bind ``torch`` to scratchgan;
* the data: ``MNISTLoader`` (this folder's ``mnist_loader.py``) in place of torchvision's MNIST
  and DataLoader; it gives the same (images, labels) batches.

Run:

    python examples/cgan.py --n_epochs 1

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
parser.add_argument("--n_classes", type=int, default=10, help="classes in the data set")
parser.add_argument("--img_size", type=int, default=32, help="side of the square images")
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

        # each class gets a learnt vector of n_classes numbers
        self.label_emb = nn.Embedding(opt.n_classes, opt.n_classes)

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(opt.latent_dim + opt.n_classes, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, int(np.prod(img_shape))),
            nn.Tanh()
        )

    def forward(self, noise, labels):
        # the class's vector in front of the noise
        gen_input = torch.cat((self.label_emb(labels), noise), -1)
        img = self.model(gen_input)
        img = img.view(img.size(0), *img_shape)
        return img


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()

        self.label_embedding = nn.Embedding(opt.n_classes, opt.n_classes)

        self.model = nn.Sequential(
            nn.Linear(opt.n_classes + int(np.prod(img_shape)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 1),
        )

    def forward(self, img, labels):
        # the flattened image, then the class's vector
        d_in = torch.cat((img.view(img.size(0), -1), self.label_embedding(labels)), -1)
        validity = self.model(d_in)
        return validity


# Least squares: D's raw score against the targets 1 and 0
adversarial_loss = torch.nn.MSELoss()

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

FloatTensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
LongTensor = torch.cuda.LongTensor if cuda else torch.LongTensor


def sample_image(n_row, batches_done):
    """Save an n_row x n_row grid of generated digits; row after row runs 0 .. n_row - 1."""
    z = Variable(FloatTensor(np.random.normal(0, 1, (n_row ** 2, opt.latent_dim))))
    labels = np.array([num for _ in range(n_row) for num in range(n_row)])
    labels = Variable(LongTensor(labels))
    gen_imgs = generator(z, labels)
    save_image(gen_imgs.data, "images/%d.png" % batches_done, nrow=n_row, normalize=True)


for epoch in range(opt.n_epochs):
    for i, (imgs, labels) in enumerate(dataloader):

        batch_size = imgs.shape[0]

        # targets: 1 for real images, 0 for generated ones
        valid = Variable(FloatTensor(batch_size, 1).fill_(1.0), requires_grad=False)
        fake = Variable(FloatTensor(batch_size, 1).fill_(0.0), requires_grad=False)

        real_imgs = Variable(imgs.type(FloatTensor))
        labels = Variable(labels.type(LongTensor))

        # The generator: images of random classes that D should take for real ones
        optimizer_G.zero_grad()

        z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, opt.latent_dim))))
        gen_labels = Variable(LongTensor(np.random.randint(0, opt.n_classes, batch_size)))

        gen_imgs = generator(z, gen_labels)

        validity = discriminator(gen_imgs, gen_labels)
        g_loss = adversarial_loss(validity, valid)

        g_loss.backward()
        optimizer_G.step()

        # The discriminator: real (image, class) pairs against generated ones
        optimizer_D.zero_grad()

        validity_real = discriminator(real_imgs, labels)
        d_real_loss = adversarial_loss(validity_real, valid)

        validity_fake = discriminator(gen_imgs.detach(), gen_labels)
        d_fake_loss = adversarial_loss(validity_fake, fake)

        d_loss = (d_real_loss + d_fake_loss) / 2

        d_loss.backward()
        optimizer_D.step()

        print("epoch %d/%d, batch %d/%d: D loss %f, G loss %f"
              % (epoch, opt.n_epochs, i, len(dataloader), d_loss.item(), g_loss.item()))

        batches_done = epoch * len(dataloader) + i
        if batches_done % opt.sample_interval == 0:
            sample_image(n_row=10, batches_done=batches_done)
