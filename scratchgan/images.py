"""``python -m scratchgan.images ...``: the command is scratchgan.cli.images."""
import sys

from scratchgan.cli.images import main

if __name__ == "__main__":
    sys.exit(main())
