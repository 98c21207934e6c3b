"""A small DCGAN for 32x32 digits, with upsampling and convolutions, on scratchgan.

Follows: eriklindernoren/PyTorch-GAN, implementations/dcgan/dcgan.py. The same options, the
``weights_init_normal`` initialisation, a generator that grows a 128-map 8x8 image with
``nn.Upsample`` and 3x3 convolutions, a discriminator of ``discriminator_block`` pieces (strided
convolution, leaky ReLU, ``Dropout2d``, batch norm), and a 5x5 grid of samples saved as
``images/<batches_done>.png`` every ``--sample_interval`` batches.

What changed against PyTorch:

* the imports bind ``torch`` to scratchgan;
* the data: ``MNISTLoader`` (this folder's ``mnist_loader.py``) in place of torchvision's MNIST
  and DataLoader; it resizes the digits to ``--img_size`` as transforms.Resize would.

Run:

    python examples/dcgan.py --n_epochs 1

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
parser.add_argument("--img_size", type=int, default=32, help="side of the square images")
parser.add_argument("--channels", type=int, default=1, help="image channels")
parser.add_argument("--sample_interval", type=int, default=400,
                    help="batches between two saved grids of samples")
opt = parser.parse_args()
print(opt)

cuda = True if torch.cuda.is_available() else False


def weights_init_normal(m):
    # convolution weights from N(0, 0.02); batch-norm scales from N(1, 0.02), shifts 0
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm2d") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()

        # the side of the first feature maps: two upsamplings double it twice
        self.init_size = opt.img_size // 4
        self.l1 = nn.Sequential(nn.Linear(opt.latent_dim, 128 * self.init_size ** 2))

        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, stride=1, padding=1),
            nn.BatchNorm2d(128, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, stride=1, padding=1),
            nn.BatchNorm2d(64, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, opt.channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, z):
        out = self.l1(z)
        out = out.view(out.shape[0], 128, self.init_size, self.init_size)
        img = self.conv_blocks(out)
        return img


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()

        def discriminator_block(in_filters, out_filters, bn=True):
            # halves the side: 3x3 convolution of stride 2, then leaky ReLU and dropout
            block = [nn.Conv2d(in_filters, out_filters, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
                     nn.Dropout2d(0.25)]
            if bn:
                block.append(nn.BatchNorm2d(out_filters, 0.8))
            return block

        self.model = nn.Sequential(
            *discriminator_block(opt.channels, 16, bn=False),
            *discriminator_block(16, 32),
            *discriminator_block(32, 64),
            *discriminator_block(64, 128),
        )

        # four blocks, each halving the side
        ds_size = opt.img_size // 2 ** 4
        self.adv_layer = nn.Sequential(nn.Linear(128 * ds_size ** 2, 1), nn.Sigmoid())

    def forward(self, img):
        out = self.model(img)
        out = out.view(out.shape[0], -1)
        validity = self.adv_layer(out)

        return validity


# Binary cross-entropy between D's output and the real / fake targets
adversarial_loss = torch.nn.BCELoss()

generator = Generator()
discriminator = Discriminator()

if cuda:
    generator.cuda()
    discriminator.cuda()
    adversarial_loss.cuda()

generator.apply(weights_init_normal)
discriminator.apply(weights_init_normal)

# scratchgan: MNIST from MNISTLoader, in place of torchvision's MNIST + DataLoader.
dataloader = MNISTLoader(opt.img_size, opt.channels, opt.batch_size, shuffle=True)

optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))

Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor

for epoch in range(opt.n_epochs):
    for i, (imgs, _) in enumerate(dataloader):

        # targets: 1 for real images, 0 for generated ones
        valid = Variable(Tensor(imgs.shape[0], 1).fill_(1.0), requires_grad=False)
        fake = Variable(Tensor(imgs.shape[0], 1).fill_(0.0), requires_grad=False)

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
