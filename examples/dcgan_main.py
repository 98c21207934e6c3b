"""DCGAN as pytorch/examples runs it from the command line, on scratchgan.

Follows: pytorch/examples, dcgan/main.py. Same command-line options (those that make sense for
MNIST), the same networks, ``weights_init``, checkpoints to resume from (``--netG``,
``--netD``), ``real_samples.png`` and ``fake_samples_epoch_NNN.png`` in ``--outf``, and
``netG_epoch_N.pth`` / ``netD_epoch_N.pth`` after each epoch.

What changed against PyTorch:

* the imports bind ``torch`` to scratchgan; ``import torch.nn.parallel`` is gone (scratchgan has
  one device, so the generator and discriminator call ``self.main`` directly, with no
  ``nn.parallel.data_parallel`` branch);
* the data: ``--dataset`` is mnist only, read by ``MNISTLoader`` (this folder's
  ``mnist_loader.py``) in place of torchvision's datasets and DataLoader.

Run:

    python examples/dcgan_main.py --dataset mnist --niter 1 --outf out
    python examples/dcgan_main.py --niter 1 --outf out \\
        --netG out/netG_epoch_0.pth --netD out/netD_epoch_0.pth      # resume

(``SCRATCHGAN_EXAMPLE_BATCHES=N`` stops each epoch after N batches.)
"""
import argparse
import os
import random

from mnist_loader import MNISTLoader

import scratchgan as torch
import scratchgan.nn as nn
import scratchgan.optim as optim
import scratchgan.utils as vutils
from scratchgan.compat import cudnn

parser = argparse.ArgumentParser()
parser.add_argument('--dataset', default='mnist', choices=['mnist'],
                    help='the data set (scratchgan ships MNIST only)')
parser.add_argument('--batchSize', type=int, default=64, help='images per step')
parser.add_argument('--imageSize', type=int, default=64,
                    help='side of the square images the networks see')
parser.add_argument('--nz', type=int, default=100, help='length of the noise vector z')
parser.add_argument('--ngf', type=int, default=64, help='feature maps of G')
parser.add_argument('--ndf', type=int, default=64, help='feature maps of D')
parser.add_argument('--niter', type=int, default=25, help='epochs')
parser.add_argument('--lr', type=float, default=0.0002, help="Adam's learning rate")
parser.add_argument('--beta1', type=float, default=0.5, help="Adam's beta1")
parser.add_argument('--cuda', action='store_true', default=False, help='train on the GPU (CuPy)')
parser.add_argument('--dry-run', action='store_true', help='one step only, to see that it runs')
parser.add_argument('--ngpu', type=int, default=1, help='GPUs (scratchgan uses one)')
parser.add_argument('--netG', default='', help='a netG .pth to start from')
parser.add_argument('--netD', default='', help='a netD .pth to start from')
parser.add_argument('--outf', default='.', help='where images and .pth files go')
parser.add_argument('--manualSeed', type=int, help='seed (random if not given)')
parser.add_argument('--mps', action='store_true', default=False,
                    help='Apple GPU (none in scratchgan)')

opt = parser.parse_args()
print(opt)

os.makedirs(opt.outf, exist_ok=True)

if opt.manualSeed is None:
    opt.manualSeed = random.randint(1, 10000)
print("Seed:", opt.manualSeed)
random.seed(opt.manualSeed)
torch.manual_seed(opt.manualSeed)

cudnn.benchmark = True

if torch.cuda.is_available() and not opt.cuda:
    print("Note: a CUDA device is available; --cuda would train on it")

if torch.backends.mps.is_available() and not opt.mps:
    print("Note: an MPS device is available; --mps would use it")

# scratchgan: MNIST from MNISTLoader, in place of torchvision's dataset and DataLoader.
nc = 1
dataloader = MNISTLoader(opt.imageSize, nc, opt.batchSize, shuffle=True)

use_mps = opt.mps and torch.backends.mps.is_available()
if opt.cuda:
    device = torch.device("cuda:0")
elif use_mps:
    device = torch.device("mps")
else:
    device = torch.device("cpu")

ngpu = int(opt.ngpu)
nz = int(opt.nz)
ngf = int(opt.ngf)
ndf = int(opt.ndf)


# N(0, 0.02) for convolutions, N(1, 0.02) for batch-norm scales, as the DCGAN paper does
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self, ngpu):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        layers = []
        # nz x 1 x 1 -> (ngf*8) x 4 x 4
        layers += [nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
                   nn.BatchNorm2d(ngf * 8), nn.ReLU(True)]
        # each next layer doubles the side and halves the maps: 8, 16, 32
        for mult in (8, 4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
        # ngf x 32 x 32 -> nc x 64 x 64
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):  # noqa: A002  (PyTorch's name)
        return self.main(input)


netG = Generator(ngpu).to(device)
netG.apply(weights_init)
if opt.netG != '':
    netG.load_state_dict(torch.load(opt.netG))
print(netG)


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        # nc x 64 x 64 -> ndf x 32 x 32, no batch norm on the input layer
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        # halve the side, double the maps: 16, 8, 4
        for mult in (1, 2, 4):
            layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ndf * mult * 2), nn.LeakyReLU(0.2, inplace=True)]
        # (ndf*8) x 4 x 4 -> one probability
        layers += [nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):  # noqa: A002
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


netD = Discriminator(ngpu).to(device)
netD.apply(weights_init)
if opt.netD != '':
    netD.load_state_dict(torch.load(opt.netD))
print(netD)

criterion = nn.BCELoss()

fixed_noise = torch.randn(opt.batchSize, nz, 1, 1, device=device)
real_label = 1
fake_label = 0

# one Adam per network
optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))

if opt.dry_run:
    opt.niter = 1

for epoch in range(opt.niter):
    for i, data in enumerate(dataloader, 0):
        # (1) D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = data[0].to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)

        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        noise = torch.randn(batch_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()

        # (2) G: maximize log(D(G(z))), with the fakes labelled real
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()

        print('epoch %d/%d batch %d/%d Loss_D %.4f, Loss_G %.4f, D(x) %.4f, D(G(z)) %.4f, %.4f'
              % (epoch, opt.niter, i, len(dataloader),
                 errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
        if i % 100 == 0:
            vutils.save_image(real_cpu, '%s/real_samples.png' % opt.outf, normalize=True)
            fake = netG(fixed_noise)
            vutils.save_image(fake.detach(), '%s/fake_samples_epoch_%03d.png' % (opt.outf, epoch),
                              normalize=True)

        if opt.dry_run:
            break
    # checkpoints after every epoch
    torch.save(netG.state_dict(), '%s/netG_epoch_%d.pth' % (opt.outf, epoch))
    torch.save(netD.state_dict(), '%s/netD_epoch_%d.pth' % (opt.outf, epoch))
