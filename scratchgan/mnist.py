"""``python -m scratchgan.mnist ...``, as the docs spell it: the command is scratchgan.cli.mnist."""
import sys

from scratchgan.cli.mnist import main

if __name__ == "__main__":
    sys.exit(main())
