"""``python -m scratchgan <command>``: see scratchgan.cli.main."""
import sys

from scratchgan.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
