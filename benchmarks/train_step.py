"""Time one full GAN training step: scratchgan against the same network and update in PyTorch.

    python benchmarks/train_step.py --model dcgan --threads 2 --json dcgan.json
    python benchmarks/train_step.py --model mlp --steps 200
    python benchmarks/train_step.py --model dcgan --backend cupy       # against PyTorch CUDA
    python benchmarks/train_step.py --model image-dcgan --image-size 64 --channels 3 --width 64
    python benchmarks/train_step.py --model image-dcgan --loss wgan-gp

Both frameworks run in this one process, alternating step by step, so that machine noise hits
them alike; the medians after warm-up are compared. Peak memory is measured separately, each
framework in a subprocess of its own (VmHWM; on a GPU the allocators' peaks). The step
timed is ``scratchgan.trainer.GANTrainer.train_step`` when that module exists (an equal inline
step before), and its PyTorch twin is ``torch_models.TorchGANStep``.

With ``--loss wgan-gp`` (the critic without batch norm, the loss's Adam: 1e-4, betas (0, 0.9)),
the timed step is ``train_step(real, update_generator=True)``: one critic update, whose gradient
penalty takes a double backward, then one G update. A critic-only step
(``update_generator=False``) is timed too, so that a training iteration of n_critic = 5 steps
(the run's: four critic-only steps, then one that also updates G) costs
4 × critic-only + 1 × full step; the output states it.
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BATCH = {"mlp": 64, "dcgan": 128, "image-dcgan": 64}  # image-dcgan: pytorch/examples'
DEFAULT_STEPS = {"mlp": 200, "dcgan": 30, "image-dcgan": 20}
LATENT_DIM = 100
HYPER = dict(lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))
N_CRITIC = 5  # WGAN-GP's critic steps per G step (scratchgan.losses.WGANGP.n_critic)


def hyper(args):
    """Both Adams' settings: the DCGAN paper's for bce, the loss's own (1e-4, (0, 0.9)) else."""
    if args.loss == "bce":
        return dict(HYPER)
    from scratchgan.losses import get_loss
    opt = get_loss(args.loss).optimizer
    return dict(lr_g=opt["lr"], lr_d=opt["lr"], betas=tuple(opt["betas"]))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=("mlp", "dcgan", "image-dcgan"), default="dcgan")
    p.add_argument("--image-size", type=int, default=64,
                   help="image-dcgan: a power of two from 8 on (default 64)")
    p.add_argument("--channels", type=int, default=3, help="image-dcgan (default 3)")
    p.add_argument("--width", type=int, default=64,
                   help="image-dcgan: maps of D's first / G's last hidden layer (default 64)")
    p.add_argument("--loss", choices=("bce", "wgan-gp"), default="bce",
                   help="wgan-gp: critic without batch norm (image-dcgan), Adam 1e-4 (0, 0.9); "
                        "critic-only steps timed as well")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    p.add_argument("--batch-size", type=int, default=None,
                   help="default: 64 for mlp and image-dcgan, 128 for dcgan")
    p.add_argument("--steps", type=int, default=None,
                   help="timed steps of each (default: 30 dcgan, 20 image-dcgan, 200 mlp)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--block", type=int, default=3,
                   help="steps of one library in a row; the first of each block is not timed")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--json", metavar="FILE", help="also write the results here")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--no-torch", action="store_true", help="time scratchgan alone")
    p.add_argument("--peak-of", choices=("scratchgan", "torch"),
                   help=argparse.SUPPRESS)  # the subprocess
    args = p.parse_args(argv)
    args.batch_size = args.batch_size or DEFAULT_BATCH[args.model]
    args.steps = args.steps or DEFAULT_STEPS[args.model]
    return args


def limit_threads(n):
    """Must run before numpy is imported: BLAS reads these once, when it loads."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


# -- the scratchgan side --

def inline_models(name, latent_dim=LATENT_DIM):
    """The benchmark's architectures, for as long as scratchgan.models does not exist."""
    from scratchgan import nn
    lrelu = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    if name == "mlp":
        G = nn.Sequential(nn.Linear(latent_dim, 256), lrelu(), nn.Linear(256, 512), lrelu(),
                          nn.Linear(512, 1024), lrelu(), nn.Linear(1024, 784), nn.Tanh())
        D = nn.Sequential(nn.Linear(784, 512), lrelu(), nn.Linear(512, 256), lrelu(),
                          nn.Linear(256, 1))
        return G, D
    G = nn.Sequential(
        nn.Linear(latent_dim, 7 * 7 * 256, bias=False), nn.BatchNorm(7 * 7 * 256), lrelu(),
        nn.Reshape(256, 7, 7),
        nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),
        nn.BatchNorm2d(128), lrelu(),
        nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False),
        nn.BatchNorm2d(64), lrelu(),
        nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, 64, 5, stride=2, padding=2), lrelu(), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, stride=2, padding=2), lrelu(), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(7 * 7 * 128, 1))
    return G, D


class InlineTrainer:
    """The update of scratchgan.trainer.GANTrainer, for as long as that module does not exist."""

    def __init__(self, G, D, latent_dim, lr_g, lr_d, betas, seed):
        from scratchgan import backend as B, optim
        B.seed(seed)
        self.G, self.D, self.latent_dim = G, D, latent_dim
        self.opt_g = optim.Adam(G.parameters(), lr=lr_g, betas=betas)
        self.opt_d = optim.Adam(D.parameters(), lr=lr_d, betas=betas)

    def train_step(self, real):
        from scratchgan import backend as B, functional as F
        from scratchgan.tensor import Tensor
        G, D = self.G, self.D
        fake = G(Tensor._wrap(B.normal((real.shape[0], self.latent_dim))))

        d_real, d_fake = D(real), D(fake.detach())
        xp = B.xp_of(d_real.array)
        ones, zeros = xp.ones_like(d_real.array), xp.zeros_like(d_real.array)
        loss_d = (F.binary_cross_entropy_with_logits(d_real, ones)
                  + F.binary_cross_entropy_with_logits(d_fake, zeros))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()

        D.requires_grad_(False)  # G's update needs D's input gradient only
        loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        D.requires_grad_(True)
        self.opt_g.step()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}


def model_options(args):
    """The builder's keyword arguments for ``args.model`` beyond latent_dim."""
    if args.model != "image-dcgan":
        return {}
    return dict(size=args.image_size, channels=args.channels, width=args.width,
                d_norm=None if args.loss == "wgan-gp" else "batch")


def model_label(args):
    """How the table names the model: unchanged for mlp/dcgan under bce."""
    label = args.model
    if args.model == "image-dcgan":
        label += f" {args.image_size}x{args.image_size}x{args.channels} width {args.width}"
    if args.loss != "bce":
        label += f" {args.loss}"
    return label


def scratchgan_setup(args):
    """(trainer, which step is timed, G, D) on the chosen backend."""
    from scratchgan import backend as B
    B.use_backend(args.backend)
    if hasattr(B, "set_num_threads"):
        # who runs them is chosen below (scratchgan/backend/threads.py)
        B.set_num_threads(args.threads)
    B.seed(0)
    try:
        from scratchgan.models import build
    except ImportError:
        if args.model == "image-dcgan" or args.loss != "bce":
            raise
        G, D = inline_models(args.model)
    else:
        G, D = build(args.model, latent_dim=LATENT_DIM, **model_options(args))
    G.to(args.backend)
    D.to(args.backend)
    try:
        from scratchgan.trainer import GANTrainer, thread_policy
    except ImportError:
        if args.loss != "bce":
            raise
        return (InlineTrainer(G, D, LATENT_DIM, seed=0, **HYPER),
                "inline step (benchmarks/train_step.py)", G, D)
    # As scratchgan.run's loop does: seed z's stream, and let the networks pick who runs the
    # threads.
    B.seed(0)
    if args.backend == "numpy":
        B.set_num_threads(B.get_num_threads(), by=thread_policy(G, D))
    trainer = GANTrainer(G, D, latent_dim=LATENT_DIM, loss=args.loss, **hyper(args))
    if args.loss == "wgan-gp":
        timed = ("scratchgan.trainer.GANTrainer.train_step(real, update_generator=True): "
                 "a critic update (gradient penalty: double backward), then a G update")
        return trainer, timed, G, D
    return trainer, "scratchgan.trainer.GANTrainer.train_step", G, D


def real_batch(args, G):
    """A fixed batch shaped like G's output, uniform in [-1, 1], as a host array."""
    import numpy
    from scratchgan import no_grad
    from scratchgan.tensor import Tensor
    from scratchgan import backend as B
    with no_grad():
        G.eval()
        shape = G(Tensor._wrap(B.normal((2, LATENT_DIM)))).shape
        G.train()
    rng = numpy.random.default_rng(1)
    return rng.uniform(-1, 1, (args.batch_size,) + shape[1:]).astype(numpy.float32)


def sync_scratchgan():
    from scratchgan import backend as B
    B.synchronize()


# -- the PyTorch side --

def torch_setup(args, G, D):
    import torch
    sys.path.insert(0, HERE)
    from torch_models import TorchGANStep, twin
    torch.set_num_threads(args.threads)
    device = "cuda" if args.backend == "cupy" else "cpu"
    return TorchGANStep(twin(G), twin(D), LATENT_DIM, seed=0, device=device, loss=args.loss,
                        **hyper(args))


def sync_torch(args):
    if args.backend == "cupy":
        import torch
        torch.cuda.synchronize()


# -- counting --

def layer_macs(module, in_shape):
    """Per-sample multiply-adds of each Linear/Conv layer of a Sequential tree, in order."""
    from scratchgan import nn
    macs, shape = [], tuple(in_shape)
    for m in module.modules():
        if isinstance(m, nn.Linear):
            macs.append(m.in_features * m.out_features)
            shape = (m.out_features,)
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            # square kernels, strides and paddings: an int, or PyTorch's pair
            k, s, p = (v[0] if isinstance(v, tuple) else v
                       for v in (m.kernel_size, m.stride, m.padding))
            if isinstance(m, nn.ConvTranspose2d):  # every input pixel stamps a k×k×out kernel
                extra = m.output_padding
                extra = extra[0] if isinstance(extra, tuple) else extra
                macs.append(m.in_channels * m.out_channels * k * k * shape[1] * shape[2])
                size = [(n - 1) * s - 2 * p + k + extra for n in shape[1:]]
            else:
                size = [(n + 2 * p - k) // s + 1 for n in shape[1:]]
                macs.append(m.in_channels * m.out_channels * k * k * size[0] * size[1])
            shape = (m.out_channels, *size)
        elif isinstance(m, nn.Reshape):
            shape = tuple(m.shape)
        elif isinstance(m, nn.Flatten):
            total = 1
            for n in shape:
                total *= n
            shape = (total,)
    return macs


def step_flops(G, D, batch, image_shape, z_shape=(LATENT_DIM,)):
    """FLOPs (2 per multiply-add) of the matrix products of one alternating step.

    G: forward, weight and input gradients (not for z). D: three forwards (real, fake, fake
    again); two backwards for D's update (no input gradient for the images) and one for G's
    (input gradients only). Element-wise work is not counted. ``z_shape``: what G's first
    layer sees of z ((latent, 1, 1) for image-dcgan). BCE's step only (not WGAN-GP's).
    """
    g, d = layer_macs(G, z_shape), layer_macs(D, image_shape)
    g_total = sum(g) + sum(g) + sum(g[1:])
    d_total = 3 * sum(d) + 2 * (sum(d) + sum(d[1:])) + sum(d)
    return 2 * batch * (g_total + d_total)


def peak_memory_mb():
    """Peak resident memory of this process: VmHWM, which, unlike ru_maxrss, does not carry
    over the parent's peak through fork and exec."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


# -- running --

def time_alternating(sg_step, sg_real, torch_step, torch_real, args):
    """Per-step wall and CPU seconds of each, in alternating blocks so that noise hits both alike.

    A block runs ``args.block`` steps of one library back to back and times all but its first:
    that one absorbs the other library's idle threads, which keep spinning for ~0.1 s after their
    last call (OpenBLAS does) and would be charged to whoever runs next. CPU time (all threads
    of this process) is the steadier number on a shared machine: other processes stretch the
    wall clock but not it; spinning BLAS threads do count in it, though.
    """
    return time_sides(sides_of(sg_step, sg_real, torch_step, torch_real, args), args)


def sides_of(sg_step, sg_real, torch_step, torch_real, args, prefix=""):
    sides = [(prefix + "sg", sg_step, sg_real, sync_scratchgan)]
    if torch_step is not None:
        sides.append((prefix + "torch", torch_step, torch_real, lambda: sync_torch(args)))
    return sides


def time_sides(sides, args):
    """``time_alternating`` for any number of (name, step, real, sync) sides, in turn (the order
    reversed every other round): {name: (wall seconds, CPU seconds)}."""
    times = {name: ([], []) for name, *_ in sides}
    for _ in range(args.warmup):
        for _, step, real, sync in sides:
            step(real)
            sync()
    block = max(2, args.block) if len(sides) > 1 else 1
    for round_ in range(-(-args.steps // (block - 1 if block > 1 else 1))):
        for name, step, real, sync in sides[::-1] if round_ % 2 else sides:
            for k in range(block):
                sync()
                t0, c0 = time.perf_counter(), time.process_time()
                step(real)
                sync()
                if (k > 0 or block == 1) and len(times[name][0]) < args.steps:
                    times[name][0].append(time.perf_counter() - t0)
                    times[name][1].append(time.process_time() - c0)
    return times


def measure_peak(args):
    """Subprocess body: run one framework alone and print its memory as JSON."""
    trainer, _, G, D = scratchgan_setup(args)
    real = real_batch(args, G)
    if args.peak_of == "torch":
        import torch
        step = torch_setup(args, G, D).train_step
        real = torch.from_numpy(real).to("cuda" if args.backend == "cupy" else "cpu")
        del trainer, G, D
    else:
        from scratchgan import backend as B
        from scratchgan.tensor import Tensor
        step, real = trainer.train_step, Tensor._wrap(B.get_backend(args.backend).asarray(real))
    base = current_rss_mb()
    for _ in range(args.warmup + 3):
        step(real)
    result = {"peak_mb": peak_memory_mb(), "base_mb": base}
    if args.backend == "cupy":
        if args.peak_of == "torch":
            import torch
            result["device_peak_mb"] = torch.cuda.max_memory_reserved() / 2 ** 20
        else:
            from scratchgan import backend as B
            pool = B.get_backend("cupy").xp.get_default_memory_pool()
            result["device_peak_mb"] = pool.total_bytes() / 2 ** 20  # the pool keeps its peak
    print(json.dumps(result))


def peak_in_subprocess(which, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--model", args.model,
           "--backend", args.backend, "--loss", args.loss, "--image-size", str(args.image_size),
           "--channels", str(args.channels), "--width", str(args.width),
           "--batch-size", str(args.batch_size), "--threads", str(args.threads),
           "--warmup", str(args.warmup), "--peak-of", which]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode != 0:
        raise RuntimeError(f"train_step.py: the {which} memory subprocess failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def have_torch():
    return importlib.util.find_spec("torch") is not None


def main(argv=None):
    args = parse_args(argv)
    limit_threads(args.threads)
    sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing
    if args.peak_of:
        return measure_peak(args)

    from scratchgan import backend as B
    from scratchgan.tensor import Tensor
    try:
        trainer, timed, G, D = scratchgan_setup(args)
    except B.BackendError as e:
        sys.exit(f"train_step.py: {e}")
    host_real = real_batch(args, G)
    image_shape = host_real.shape[1:]
    flops = None  # WGAN-GP's double backward is not counted: "n/a"
    if args.loss == "bce":
        z_shape = (LATENT_DIM, 1, 1) if args.model == "image-dcgan" else (LATENT_DIM,)
        flops = step_flops(G, D, args.batch_size, image_shape, z_shape)
    sg_real = Tensor._wrap(B.get_backend(args.backend).asarray(host_real))
    use_torch = not args.no_torch and have_torch()
    torch_step = torch_real = None
    if use_torch:
        import torch
        torch_step = torch_setup(args, G, D).train_step
        torch_real = torch.from_numpy(host_real).to("cuda" if args.backend == "cupy" else "cpu")

    sides = sides_of(trainer.train_step, sg_real, torch_step, torch_real, args)
    if args.loss == "wgan-gp":  # critic-only steps in the same rotation: noise hits all alike
        sides += sides_of(lambda r: trainer.train_step(r, update_generator=False), sg_real,
                          torch_step and (lambda r: torch_step(r, update_generator=False)),
                          torch_real, args, prefix="critic_")
    times = time_sides(sides, args)
    res = {"model": args.model, "backend": args.backend, "batch_size": args.batch_size,
           "threads": args.threads, "steps": args.steps, "timed": timed,
           "gflop_per_step": None if flops is None else flops / 1e9}
    if args.model == "image-dcgan" or args.loss != "bce":
        res.update(label=model_label(args), loss=args.loss)
    if args.model == "image-dcgan":
        res.update(image_size=args.image_size, channels=args.channels, width=args.width)
    summarise(res, times, "")
    if args.loss == "wgan-gp":
        summarise(res, {k[len("critic_"):]: v for k, v in times.items()
                        if k.startswith("critic_")}, "critic_")
        res["n_critic"] = N_CRITIC
        for key in ("scratchgan", "torch"):
            if f"{key}_ms" in res:
                res[f"{key}_iteration_ms"] = ((N_CRITIC - 1) * res[f"critic_{key}_ms"]
                                              + res[f"{key}_ms"])
        if use_torch:
            res["iteration_ratio"] = res["scratchgan_iteration_ms"] / res["torch_iteration_ms"]
    if use_torch:
        res["torch_version"] = torch.__version__
    if not args.no_memory:
        for which in ("scratchgan", "torch") if use_torch else ("scratchgan",):
            mem = peak_in_subprocess(which, args)
            res[f"{which}_peak_mb"], res[f"{which}_base_mb"] = mem["peak_mb"], mem["base_mb"]
            if "device_peak_mb" in mem:
                res[f"{which}_device_peak_mb"] = mem["device_peak_mb"]
        if use_torch:
            res["peak_ratio"] = res["scratchgan_peak_mb"] / res["torch_peak_mb"]
            res["step_memory_ratio"] = ((res["scratchgan_peak_mb"] - res["scratchgan_base_mb"])
                                        / (res["torch_peak_mb"] - res["torch_base_mb"]))
    print_table(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


def summarise(res, times, prefix):
    """Medians of ``times`` into ``res`` under keys starting with ``prefix``."""
    for who, key in (("sg", "scratchgan"), ("torch", "torch")):
        wall, cpu = times.get(who, ([], []))
        if wall:
            res[f"{prefix}{key}_ms"] = 1e3 * statistics.median(wall)
            res[f"{prefix}{key}_cpu_ms"] = 1e3 * statistics.median(cpu)
            res[f"{prefix}{key}_ms_all"] = [round(1e3 * t, 2) for t in wall]
    if f"{prefix}torch_ms" in res:
        res[f"{prefix}ratio"] = res[f"{prefix}scratchgan_ms"] / res[f"{prefix}torch_ms"]
        res[f"{prefix}cpu_ratio"] = (res[f"{prefix}scratchgan_cpu_ms"]
                                     / res[f"{prefix}torch_cpu_ms"])


def print_table(r):
    gflop = r["gflop_per_step"]
    print(f"{r.get('label', r['model'])} batch {r['batch_size']}, {r['backend']}, "
          f"{r['threads']} threads, median of {r['steps']} steps in alternating blocks; "
          + ("n/a" if gflop is None else f"{gflop:.1f}") + f" GFLOP/step; timed: {r['timed']}")
    print(f"{'':12}{'ms/step':>10}{'GFLOP/s':>10}{'CPU ms':>10}{'peak MB':>10}{'step MB':>10}")
    for who, key in (("scratchgan", "scratchgan"), ("PyTorch", "torch")):
        if f"{key}_ms" not in r:
            continue
        ms = r[f"{key}_ms"]
        rate = f"{'n/a':>10}" if gflop is None else f"{gflop / ms * 1e3:10.1f}"
        line = f"{who:12}{ms:10.1f}{rate}{r[f'{key}_cpu_ms']:10.1f}"
        if f"{key}_peak_mb" in r:
            line += f"{r[f'{key}_peak_mb']:10.0f}{r[f'{key}_peak_mb'] - r[f'{key}_base_mb']:10.0f}"
        print(line)
    if "ratio" in r:
        line = f"{'ratio':12}{r['ratio']:10.2f}{'':10}{r['cpu_ratio']:10.2f}"
        if "peak_ratio" in r:
            line += f"{r['peak_ratio']:10.2f}{r['step_memory_ratio']:10.2f}"
        print(line)
    if "critic_scratchgan_ms" in r:
        print_wgan_gp(r)


def print_wgan_gp(r):
    n = r["n_critic"]
    print(f"critic-only step, train_step(real, update_generator=False): one critic update with "
          f"the penalty, no G update (median of {r['steps']})")
    print(f"{'':12}{'ms/step':>10}{'CPU ms':>10}")
    for who, key in (("scratchgan", "scratchgan"), ("PyTorch", "torch")):
        if f"critic_{key}_ms" in r:
            print(f"{who:12}{r[f'critic_{key}_ms']:10.1f}{r[f'critic_{key}_cpu_ms']:10.1f}")
    if "critic_ratio" in r:
        print(f"{'ratio':12}{r['critic_ratio']:10.2f}{r['critic_cpu_ratio']:10.2f}")
    print(f"WGAN-GP iteration ({n} critic steps + 1 G step, as the run does: {n - 1} critic-only "
          f"steps, then one full step) = {n - 1} x critic-only + 1 x full step:")
    line = "  ".join(f"{who} {r[f'{key}_iteration_ms']:.1f} ms"
                     for who, key in (("scratchgan", "scratchgan"), ("PyTorch", "torch"))
                     if f"{key}_iteration_ms" in r)
    if "iteration_ratio" in r:
        line += f"  ratio {r['iteration_ratio']:.2f}"
    print("  " + line)


if __name__ == "__main__":
    main()
