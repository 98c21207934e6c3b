"""DCGAN, as the PyTorch DCGAN tutorial writes it, running on scratchgan.

Follows: the official PyTorch DCGAN tutorial (pytorch/tutorials,
beginner_source/dcgan_faces_tutorial.py). The program keeps the tutorial's shape: settings as
module-level variables, ``weights_init``, the Generator and Discriminator classes, the
two-part training loop, then the plots of the losses and of real against generated images.

What changed against PyTorch:

* the imports bind ``torch`` to scratchgan (``import scratchgan as torch`` and friends);
* the data: the tutorial reads CelebA from an ImageFolder; here ``MNISTLoader`` (this
  folder's ``mnist_loader.py``) gives scratchgan's shipped MNIST, resized to 64x64 and repeated
  onto 3 channels, in the same (images, labels) batches.

Every figure is saved as a PNG in the current directory (``training_images.png``,
``losses.png``, ``real_vs_fake.png``) before ``plt.show()``, and the animation of the fixed-noise
samples is written to ``animation.html`` by ``ipython_display.HTML``.

Run (a full epoch of MNIST at 64x64 takes a long while on a CPU; the two variables cut it short):

    SCRATCHGAN_EXAMPLE_BATCHES=20 python examples/dcgan_tutorial.py
"""
import random

import matplotlib.animation as animation
import matplotlib.pyplot as plt
import numpy as np
from ipython_display import HTML
from mnist_loader import MNISTLoader

import scratchgan as torch
import scratchgan.nn as nn
import scratchgan.optim as optim
import scratchgan.utils as vutils

# Fix the seeds so that two runs draw the same numbers.
manualSeed = 999
print("Seed:", manualSeed)
random.seed(manualSeed)
np.random.seed(manualSeed)  # MNISTLoader shuffles with NumPy's global generator
torch.manual_seed(manualSeed)
torch.use_deterministic_algorithms(True)

# Settings, named as in the tutorial.
batch_size = 128      # images per training step
image_size = 64       # every image is resized to image_size x image_size
nc = 3                # colour channels of the training images
nz = 100              # length of the latent vector z
ngf = 64              # feature maps in the generator
ndf = 64              # feature maps in the discriminator
num_epochs = 5        # passes over the training set
lr = 0.0002           # Adam's learning rate
beta1 = 0.5           # Adam's beta1
ngpu = 1              # GPUs to use; 0 runs on the CPU

# scratchgan: MNIST through MNISTLoader in place of ImageFolder + DataLoader.
dataloader = MNISTLoader(image_size, nc, batch_size, shuffle=True)

device = torch.device("cuda:0" if (torch.cuda.is_available() and ngpu > 0) else "cpu")

# A look at some of the training images.
real_batch = next(iter(dataloader))
plt.figure(figsize=(8, 8))
plt.axis("off")
plt.title("Some training images")
plt.imshow(np.transpose(vutils.make_grid(real_batch[0].to(device)[:64], padding=2,
                                         normalize=True).cpu(), (1, 2, 0)))
plt.savefig("training_images.png")
plt.show()


def weights_init(m):
    """DCGAN's initialisation: N(0, 0.02) convolution weights, N(1, 0.02) batch-norm scales."""
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
        self.main = nn.Sequential(
            # z, nz x 1 x 1, to (ngf*8) x 4 x 4
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # to (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # to (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # to ngf x 32 x 32
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # to nc x 64 x 64, in [-1, 1]
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh()
        )

    def forward(self, input):  # noqa: A002  (PyTorch's name)
        return self.main(input)


netG = Generator(ngpu).to(device)
# (With several GPUs the tutorial wraps the model in nn.DataParallel; scratchgan has one device.)
netG.apply(weights_init)
print(netG)


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # nc x 64 x 64 to ndf x 32 x 32
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # to (ndf*2) x 16 x 16
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # to (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # to (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # to one probability per image
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):  # noqa: A002
        return self.main(input)


netD = Discriminator(ngpu).to(device)
netD.apply(weights_init)
print(netD)

criterion = nn.BCELoss()

# The same 64 latent vectors every time we look at the generator's progress.
fixed_noise = torch.randn(64, nz, 1, 1, device=device)

real_label = 1.
fake_label = 0.

optimizerD = optim.Adam(netD.parameters(), lr=lr, betas=(beta1, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=lr, betas=(beta1, 0.999))

img_list = []
G_losses = []
D_losses = []
iters = 0

print("Training...")
for epoch in range(num_epochs):
    for i, data in enumerate(dataloader, 0):

        # (1) Update D: maximise log(D(x)) + log(1 - D(G(z)))
        # first on a batch of real images
        netD.zero_grad()
        real_cpu = data[0].to(device)
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        # then on a batch of generated ones; the gradients add up in .grad
        noise = torch.randn(b_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()

        # (2) Update G: maximise log(D(G(z))), i.e. label the fakes as real
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()

        if i % 50 == 0:
            print('epoch %d/%d batch %d/%d Loss_D %.4f, Loss_G %.4f, D(x) %.4f, D(G(z)) %.4f, %.4f'
                  % (epoch, num_epochs, i, len(dataloader),
                     errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))

        G_losses.append(errG.item())
        D_losses.append(errD.item())

        # Every 500 steps, and after the very last one, keep a grid of G(fixed_noise).
        if (iters % 500 == 0) or ((epoch == num_epochs - 1) and (i == len(dataloader) - 1)):
            with torch.no_grad():
                fake = netG(fixed_noise).detach().cpu()
            img_list.append(vutils.make_grid(fake, padding=2, normalize=True))

        iters += 1

# The two losses over the training steps.
plt.figure(figsize=(10, 5))
plt.title("Losses of G and D while training")
plt.plot(G_losses, label="G")
plt.plot(D_losses, label="D")
plt.xlabel("iterations")
plt.ylabel("Loss")
plt.legend()
plt.savefig("losses.png")
plt.show()

# The generator's progress on the fixed noise, as an animation (animation.html).
fig = plt.figure(figsize=(8, 8))
plt.axis("off")
ims = [[plt.imshow(np.transpose(i, (1, 2, 0)), animated=True)] for i in img_list]
ani = animation.ArtistAnimation(fig, ims, interval=1000, repeat_delay=1000, blit=True)
HTML(ani.to_jshtml())

# Real images beside the last generated ones.
real_batch = next(iter(dataloader))

plt.figure(figsize=(15, 15))
plt.subplot(1, 2, 1)
plt.axis("off")
plt.title("Real")
plt.imshow(np.transpose(vutils.make_grid(real_batch[0].to(device)[:64], padding=5,
                                         normalize=True).cpu(), (1, 2, 0)))

plt.subplot(1, 2, 2)
plt.axis("off")
plt.title("Generated, from the fixed noise")
plt.imshow(np.transpose(img_list[-1], (1, 2, 0)))
plt.savefig("real_vs_fake.png")
plt.show()

# Not in the tutorial: the last grid also as an image file of its own, pixel for pixel.
vutils.save_image(img_list[-1], "fake_grid.png")
