"""Lesson 18: the PyTorch DCGAN tutorial, run on scratchgan.

PyTorch's DCGAN tutorial (pytorch/tutorials, beginner_source/dcgan_faces_tutorial.py) is the
program most people first train a GAN with. scratchgan has PyTorch's interface, so the tutorial's
code runs on it with one change at the top:

    import torch                        ->  import scratchgan as torch
    import torch.nn as nn               ->  import scratchgan.nn as nn
    import torch.optim as optim         ->  import scratchgan.optim as optim
    import torchvision.utils as vutils  ->  import scratchgan.utils as vutils

and one in the data (torchvision's ImageFolder + DataLoader become a small loader over the
shipped MNIST, below). Everything else is the tutorial's own idiom, and each has its scratchgan
counterpart you have met: ``nn.Module`` with ``forward`` (lesson 01's autograd underneath),
``ConvTranspose2d``/``Conv2d`` (lesson 04), ``BatchNorm2d`` (lesson 05),
``netG.apply(weights_init)`` with ``nn.init.normal_`` (the DCGAN paper's N(0, 0.02)),
``nn.BCELoss`` on a ``Sigmoid`` output,
``torch.full``/``fill_`` labels, ``.view(-1)``, ``detach()`` in the D step, two Adams with
betas (0.5, 0.999), ``torch.no_grad()`` for the fixed-noise grids, ``vutils.make_grid``.

The tutorial's settings (64-pixel colour images, ngf = ndf = 64, batches of 128, 5 epochs of
CelebA: about 8,000 steps) need hours on a CPU. So the default keeps the tutorial's networks and
loop but shrinks the numbers: MNIST digits padded to 32 pixels (the generator then needs one
doubling layer fewer: 4 -> 8 -> 16 -> 32), one grey channel, ngf = ndf = 8, batches of 64,
learning rate 5e-4, 6 epochs of 200 batches: 1200 steps, under a minute of CPU on two cores,
after which the fakes are rough digits, many of them readable. ``--full`` runs the tutorial's own
settings on MNIST resized to 64 pixels in 3 channels (as examples/dcgan_tutorial.py does): the
same code, only the numbers differ.

Builds on: lessons 04 and 05 (the layers), 08 (the GAN loop) and 10 (the DCGAN).

Run:  python lessons/18_the_pytorch_dcgan_tutorial.py [--full] [--epochs N] [--out DIR] [--quick]
"""
# %%
import argparse
import importlib.util
import os
import random
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as torch  # the tutorial's code below says torch; it runs scratchgan
import scratchgan.nn as nn
import scratchgan.optim as optim
import scratchgan.utils as vutils
from scratchgan.data import BatchIterator, mnist_dataset
from scratchgan.metrics import class_histogram, classifier_score, predict_proba

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 18: the PyTorch DCGAN tutorial")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/18", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="tiny networks, 4 batches (for tests)")
parser.add_argument("--full", action="store_true",
                    help="the tutorial's settings: 64 px, 3 channels, ngf = ndf = 64, batches "
                         "of 128, 5 epochs of all 60000 digits (hours on a CPU)")
parser.add_argument("--epochs", type=int, default=None, help="passes over the training images")
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# %% The tutorial's settings
# Named as in the tutorial; its own values are TUTORIAL (--full). For the one-minute default we
# measured on 2 cores (classifier score of the fakes, lesson 13; real digits 9.7): ngf = ndf = 16
# reached 4.2 after 800 steps (a minute), ngf = ndf = 8 with the tutorial's lr 2e-4 4.8 after
# 1500, and with lr 5e-4 6.0 after 1200 steps (40 s): narrow networks in a hurry take a larger
# step.
manualSeed = 999
random.seed(manualSeed)
torch.manual_seed(manualSeed)  # seeds scratchgan's generators: weights, noise
#            (image_size, nc, ngf, ndf, batch_size, num_epochs, images, lr)
TUTORIAL = (64, 3, 64, 64, 128, 5, 60000, 2e-4)  # the tutorial's numbers (its images: CelebA)
ONE_MINUTE = (32, 1, 8, 8, 64, 6, 12800, 5e-4)   # what a minute of two CPU cores affords
QUICK_RUN = (32, 1, 8, 8, 32, 1, 128, 5e-4)      # the code paths only, for tests
image_size, nc, ngf, ndf, batch_size, num_epochs, n_images, lr = (
    TUTORIAL if args.full else QUICK_RUN if QUICK else ONE_MINUTE)
num_epochs = args.epochs or num_epochs
nz = 100              # length of the latent vector z
beta1 = 0.5           # Adam's beta1
ngpu = 0              # scratchgan has one device; the tutorial's DataParallel line is left out
print(f"{image_size} px, nc={nc}, ngf={ngf}, ndf={ndf}, batch_size={batch_size}, lr={lr:g}, "
      f"num_epochs={num_epochs}, images={n_images}")

# %% The data: MNIST in the tutorial's (images, labels) batches
# torchvision's ImageFolder + Resize + Normalize((0.5,), (0.5,)) + DataLoader become this class.
# scratchgan's MNIST is already in [-1, 1]. Padding 28 to 32 pixels with the background keeps
# every digit pixel as it is (LeNet did the same); 64 pixels repeats each pixel of that twice
# (nearest neighbour) and 3 channels repeat the grey one, as the tutorial's colour networks want.


class DataLoader:
    """Shuffled (images, labels) Tensor batches, as torch.utils.data.DataLoader gives them."""

    def __init__(self, images, labels, batch_size):
        # shuffled every epoch, full batches only (drop_last=True)
        self.batches = BatchIterator(images, batch_size, seed=manualSeed,
                                     labels=labels.astype(np.int64))

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for images, labels in self.batches:
            yield torch.tensor(images), torch.tensor(labels)


digits, labels = mnist_dataset(limit=n_images)
digits = np.pad(digits, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-1.0)
digits = digits.repeat(image_size // 32, axis=2).repeat(image_size // 32, axis=3)
digits = np.ascontiguousarray(digits.repeat(nc, axis=1))
dataloader = DataLoader(digits, labels, batch_size)
device = torch.device("cuda:0" if (torch.cuda.is_available() and ngpu > 0) else "cpu")
real_batch = next(iter(dataloader))
assert tuple(real_batch[0].shape) == (batch_size, nc, image_size, image_size)
print(f"{len(dataloader)} batches per epoch of {tuple(real_batch[0].shape)} images in "
      f"[{real_batch[0].numpy().min():.0f}, {real_batch[0].numpy().max():.0f}], on {device}")

# %% weights_init, the Generator and the Discriminator, as the tutorial writes them
# The tutorial's classes are written for 64 pixels: a 4x4 start, then ConvTranspose2d(4, 2, 1)
# layers each doubling the size, with (ngf*8, ngf*4, ngf*2, ngf) maps. The loops below build
# exactly that list for 64 pixels and drop the widest layer for 32 (checked further down).


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
        mult = image_size // 8  # 8 at 64 px: the tutorial's ngf * 8
        layers = [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False),  # z -> 4 x 4
                  nn.BatchNorm2d(ngf * mult), nn.ReLU(True)]
        while mult > 1:  # each: twice the size, half the maps
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
            mult //= 2
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):  # noqa: A002  (the tutorial's name)
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        while mult < image_size // 8:  # each: half the size, twice the maps
            layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ndf * mult * 2), nn.LeakyReLU(0.2, inplace=True)]
            mult *= 2
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 0, bias=False), nn.Sigmoid()]  # 4 x 4 -> 1
        self.main = nn.Sequential(*layers)

    def forward(self, input):  # noqa: A002
        return self.main(input)


netG = Generator(ngpu).to(device)
netG.apply(weights_init)
netD = Discriminator(ngpu).to(device)
netD.apply(weights_init)
print(netG)
print(netD)

# %% Checking the translation
# The shapes through G, layer by layer, and the checks that this is the tutorial's network.
x = torch.randn(2, nz, 1, 1, device=device)
with torch.no_grad():
    for layer in netG.main:
        x = layer(x)
        if isinstance(layer, nn.ConvTranspose2d):
            print(f"  ConvTranspose2d -> {tuple(x.shape)}")
    assert tuple(x.shape) == (2, nc, image_size, image_size)
    assert tuple(netD(x).view(-1).shape) == (2,)  # one probability per image, as .view(-1) wants

# At 64 pixels our Generator is the tutorial's: its five ConvTranspose2d map
# nz -> ngf*8 -> ngf*4 -> ngf*2 -> ngf -> nc (checked with ngf = 64, nc = 3).
saved = image_size, nc, ngf, ndf
image_size, nc, ngf, ndf = 64, 3, 64, 64
maps = [(m.in_channels, m.out_channels) for m in Generator(0).modules()
        if isinstance(m, nn.ConvTranspose2d)]
d_maps = [(m.in_channels, m.out_channels) for m in Discriminator(0).modules()
          if isinstance(m, nn.Conv2d)]
image_size, nc, ngf, ndf = saved
assert maps == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 3)], maps
assert d_maps == [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1)], d_maps
print(f"at 64 px the generator's maps are the tutorial's: {maps}")

# weights_init did what the DCGAN paper asks: N(0, 0.02) convolutions, N(1, 0.02) batch-norm
# scales, zero shifts.
convs = np.concatenate([m.weight.numpy().ravel() for m in netG.modules()
                        if isinstance(m, nn.ConvTranspose2d)])
scales = np.concatenate([m.weight.numpy() for m in netG.modules()
                         if isinstance(m, nn.BatchNorm2d)])
assert abs(convs.std() - 0.02) < 0.002 and abs(convs.mean()) < 0.002
assert abs(scales.mean() - 1) < 0.01 and all(
    (m.bias.numpy() == 0).all() for m in netG.modules() if isinstance(m, nn.BatchNorm2d))
print(f"weights_init: conv weights std {convs.std():.4f}, batch-norm scales mean "
      f"{scales.mean():.4f}")

# BCELoss on probabilities is -[y log p + (1 - y) log(1 - p)], averaged.
criterion = nn.BCELoss()
p, y = torch.tensor([0.9, 0.2, 0.6]), torch.tensor([1.0, 0.0, 1.0])
by_hand = -np.mean(np.log([0.9, 0.8, 0.6]))
assert abs(criterion(p, y).item() - by_hand) < 1e-6
print(f"BCELoss {criterion(p, y).item():.6f} = the formula {by_hand:.6f}")

# %% Optional: one layer against real PyTorch
# Only if PyTorch happens to be installed (scratchgan never needs it): the tutorial's
# ConvTranspose2d(4, 2, 1) with our weights, in both libraries.
if importlib.util.find_spec("torch") is None:
    print("PyTorch is not installed: the comparison with torch.nn.ConvTranspose2d is skipped")
else:
    real_torch = importlib.import_module("torch")  # "torch" here is scratchgan, see the imports
    ours = nn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False)
    x = torch.randn(2, 8, 5, 5)
    theirs = real_torch.nn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False)
    with real_torch.no_grad():
        theirs.weight.copy_(real_torch.from_numpy(ours.weight.numpy()))
        expected = theirs(real_torch.from_numpy(x.numpy())).numpy()
    difference = np.abs(ours(x).detach().numpy() - expected).max()
    assert difference < 1e-5
    print(f"ConvTranspose2d(8, 4, 4, 2, 1): scratchgan and PyTorch {real_torch.__version__} "
          f"agree to {difference:.1e}")

# %% The tutorial's training loop, unchanged
fixed_noise = torch.randn(64, nz, 1, 1, device=device)
real_label = 1.
fake_label = 0.
optimizerD = optim.Adam(netD.parameters(), lr=lr, betas=(beta1, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=lr, betas=(beta1, 0.999))

img_list = []
G_losses = []
D_losses = []
iters = 0
print("Starting Training Loop...")
for epoch in range(num_epochs):
    for i, data in enumerate(dataloader, 0):
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = data[0].to(device)
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        noise = torch.randn(b_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()

        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()

        if i % 50 == 0:
            print('[%d/%d][%d/%d]\tLoss_D: %.4f\tLoss_G: %.4f\tD(x): %.4f\tD(G(z)): %.4f / %.4f'
                  % (epoch, num_epochs, i, len(dataloader),
                     errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
        G_losses.append(errG.item())
        D_losses.append(errD.item())

        if (iters % 500 == 0) or ((epoch == num_epochs - 1) and (i == len(dataloader) - 1)):
            with torch.no_grad():
                fake = netG(fixed_noise).detach().cpu()
            img_list.append(vutils.make_grid(fake, padding=2, normalize=True))
        iters += 1
assert np.isfinite(G_losses).all() and np.isfinite(D_losses).all()

# %% Did it learn digits?
# The tutorial judges by eye; scratchgan's MNIST classifier (lesson 13) puts a number on it. The
# padding is cropped off, and one channel kept, to give it the 28x28 digits it knows. The
# generator draws in train mode here, as in the tutorial's loop (batch statistics).
with torch.no_grad():
    fakes = netG(torch.randn(1000, nz, 1, 1, device=device)).cpu().numpy()
scale = image_size // 32
crops = fakes[:, :1, 2 * scale:30 * scale:scale, 2 * scale:30 * scale:scale]
probs = predict_proba(crops)
score = classifier_score(probs)
confident = float((probs.max(axis=1) > 0.9).mean())
covered = int((class_histogram(probs) > 0.02).sum())
print(f"after {iters} steps: classifier score {score:.2f} of 10 (real digits 9.7, noise 1.4); "
      f"{confident:.0%} of 1000 fakes are read as one digit with over 90% confidence; {covered} of "
      "the 10 digits appear in over 2% of them")

# %% The tutorial's figures: losses, and real against fake
plt.figure(figsize=(10, 5))
plt.title("Generator and Discriminator Loss During Training")
plt.plot(G_losses, label="G")
plt.plot(D_losses, label="D")
plt.xlabel("iterations")
plt.ylabel("Loss")
plt.legend()
plt.savefig(out / "losses.png")
plt.close()

real_batch = next(iter(dataloader))
plt.figure(figsize=(12, 6.3))
plt.subplot(1, 2, 1)
plt.axis("off")
plt.title("Real Images")
plt.imshow(np.transpose(vutils.make_grid(real_batch[0].to(device)[:64], padding=5,
                                         normalize=True).cpu(), (1, 2, 0)))
plt.subplot(1, 2, 2)
plt.axis("off")
plt.title(f"Fake Images after {iters} steps")
plt.imshow(np.transpose(img_list[-1], (1, 2, 0)))
plt.savefig(out / "real_vs_fake.png")
plt.close()

# The tutorial animates img_list, the fixed-noise grids kept every 500 steps; here they sit in a
# row.
shown = [k + 1 for k in range(0, iters, 500)]  # a grid after step 1, 501, 1001, ... and the last
shown += [iters] if shown[-1] != iters else []
assert len(shown) == len(img_list)
fig, axes = plt.subplots(1, len(img_list), figsize=(4 * len(img_list), 4.3), squeeze=False)
for ax, grid, step in zip(axes[0], img_list, shown):
    ax.imshow(np.transpose(grid, (1, 2, 0)))
    ax.set_title(f"after {step} step{'s' if step > 1 else ''}")
    ax.axis("off")
fig.tight_layout()
fig.savefig(out / "progress.png")
plt.close(fig)
print(f"figures: {out / 'real_vs_fake.png'}, {out / 'losses.png'}, {out / 'progress.png'}")

# %% The claim, checked after the figures are saved (so that a failure can be looked at)
# Measured for the default run: 5.5, 55%, 9 digits (NumPy is deterministic: the same settings
# give the same numbers). Quick runs draw blobs, and other settings are yours to judge.
if QUICK or args.full or args.epochs is not None:
    print("(not the default run: its claim about the digits is not checked)")
else:
    assert score > 4.5 and confident > 0.3 and covered >= 8, (
        "the default run should draw rough but varied, readable digits")
    print("rough digits, many of them readable, of nearly every kind.")

# %% Try this
# 1. In the G step, keep label.fill_(fake_label) and write errG = -criterion(output, label): the
#    minimax loss log(1 - D(G(z))) of lesson 08. Predict the first G loss, then watch the fakes.
# 2. Delete .detach() in the D step and run. Which line fails, and what does the message say?
#    (scratchgan frees a graph after backward, as PyTorch does.) Pass retain_graph=True to
#    errD_fake.backward() and print a netG weight's .grad just before netG.zero_grad(): which
#    loss put it there, and what did the missing detach() cost?
# 3. Count the multiply-adds of the generator's widest ConvTranspose2d at the default settings
#    and at TUTORIAL's (output pixels × input maps × output maps × 16 / 4). How many times more
#    work is the tutorial's step? Time netG(torch.randn(64, nz, 1, 1)) at both to check.
