"""What ``scratchgan mnist`` and ``scratchgan images`` share: the training flags and the run."""
import numpy

from scratchgan import backend as B
from scratchgan.cli import errors
from scratchgan.losses import LOSSES
from scratchgan.run import MODEL_DEFAULTS, ConfigError, TrainConfig, train


def _per_model(name, models):
    return ", ".join(f"{model}: {MODEL_DEFAULTS[model][name]:g}" for model in models)


def training_parser(prog, description, models):
    """The flags of every training command; the command adds its data's own."""
    p = errors.ArgumentParser(prog=prog, description=description)
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                   help="array library (default: numpy)")
    p.add_argument("--loss", choices=tuple(LOSSES),
                   help="bce (default), wgan-gp (Gulrajani et al.: critic without batch norm, "
                        "gradient penalty 10, Adam 1e-4 (0, 0.9)), hinge or lsgan")
    p.add_argument("--n-critic", type=int,
                   help="discriminator steps per generator step (default: 5 for wgan-gp, else 1)")
    p.add_argument("--epochs", type=int, help="total epochs, counting resumed ones "
                   f"(default per model: {_per_model('epochs', models)})")
    p.add_argument("--minutes", type=float,
                   help="stop after this many minutes of this invocation, saving a checkpoint")
    p.add_argument("--max-steps", type=int,
                   help="stop after this many steps in total, saving a checkpoint")
    p.add_argument("--batch-size", type=int,
                   help=f"default per model: {_per_model('batch_size', models)}")
    p.add_argument("--lr-g", type=float, help="generator's Adam learning rate "
                   f"(default {_per_model('lr_g', models)}; wgan-gp: 1e-4)")
    p.add_argument("--lr-d", type=float, help="discriminator's Adam learning rate "
                   f"(default {_per_model('lr_d', models)}; wgan-gp: 1e-4)")
    p.add_argument("--beta1", type=float,
                   help=f"Adam beta1 (default {_per_model('beta1', models)}; wgan-gp: 0)")
    p.add_argument("--beta2", type=float,
                   help=f"Adam beta2 (default {_per_model('beta2', models)}; wgan-gp: 0.9)")
    p.add_argument("--latent-dim", type=int, help="size of the noise vector z (default 100)")
    p.add_argument("--ema", type=float, metavar="DECAY", help="keep a moving average of G's "
                   "weights with this decay (e.g. 0.999) and draw grids and samples from it; "
                   f"0: none (default {_per_model('ema', models)})")
    p.add_argument("--seed", type=int, help="seed of every random stream (default 0)")
    p.add_argument("--out", help="output folder (default runs/<model>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the checkpoint in --out up to --epochs in total")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh even though --out holds a checkpoint")
    p.add_argument("--limit", type=int, help="train on the first N images only (quick experiments)")
    p.add_argument("--eval-every", type=int, help="evaluate sample quality every N epochs "
                   "(metrics_eval.csv, metrics.png)")
    p.add_argument("--log-every", type=int, default=10,
                   help="steps between rows of metrics.csv (default 10)")
    p.add_argument("--show", action="store_true",
                   help="show samples and losses in a window while training")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.add_argument("--threads", type=int, help="CPU threads of the numpy backend (default: "
                   "SCRATCHGAN_NUM_THREADS, else OMP_NUM_THREADS, else every core)")
    return p


def run_training(parser, argv, **fixed):
    """Parse ``argv``, train, say where the results are; returns the exit status."""
    def command():
        options = vars(parser.parse_args(argv))
        threads = options.pop("threads")  # how to run, not what to train: not in the config
        if threads is not None:
            if threads < 1:
                raise ConfigError(f"threads must be at least 1, got {threads}")
            B.set_num_threads(threads)
        config = TrainConfig(**options, **fixed)
        # A blow-up is reported once, by train's NaN check, not by a NumPy warning per
        # overflowing op.
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = train(config)
        if result.stopped == "completed":
            print(f"done: {result.config.model} trained for {result.epoch} epochs "
                  f"({result.step} steps); samples/, metrics.csv, losses.png, progress.gif and "
                  f"checkpoint.npz are in {result.out}")
        return 0

    return errors.run(command)
