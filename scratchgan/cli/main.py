"""``scratchgan <command> ...`` (also ``python -m scratchgan``): mnist, images, sample, evaluate,
interpolate, inpaint."""
import importlib
import sys

from scratchgan import __version__

# Imported only when asked for, so that each command loads just what it needs.
COMMANDS = {
    "mnist": ("scratchgan.cli.mnist", "train a GAN on MNIST"),
    "images": ("scratchgan.cli.images", "train a DCGAN on colour images (a folder, or faces)"),
    "sample": ("scratchgan.cli.sample",
               "draw samples from a checkpoint into a .png grid or a .npy file"),
    "evaluate": ("scratchgan.cli.evaluate", "measure the sample quality of a checkpoint"),
    "interpolate": ("scratchgan.cli.interpolate",
                    "walk a checkpoint's latent space (or morph its classes) into a grid"),
    "inpaint": ("scratchgan.cli.inpaint", "repair the hidden part of an image with a generator"),
}
USAGE = ("usage: scratchgan {mnist,images,sample,evaluate,interpolate,inpaint} [options]   "
         "(scratchgan <command> --help for its options)")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, *(f"  {name:<11} {text}" for name, (_, text) in COMMANDS.items()), sep="\n",
              file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"scratchgan {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"scratchgan: error: unknown command {command!r}: expected one of "
              f"{', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module_name = COMMANDS[command][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
        print(f"scratchgan: error: the {command} command is not available in this installation",
              file=sys.stderr)
        return 2
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
