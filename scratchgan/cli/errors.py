"""How the command-line tools fail: one line 'scratchgan: error: ...' on stderr, never a traceback.

Bad input (a missing data file, an unknown model, a checkpoint that does not fit, no GPU for
cupy) exits with status 2, a diverged run with 1, Ctrl-C with 130 as shells expect. Anything
else is a bug and keeps its traceback.
"""
import argparse
import sys

from scratchgan.backend import BackendError
from scratchgan.data import DataError
from scratchgan.run import CheckpointError, ConfigError, TrainingDiverged, TrainingInterrupted

PREFIX = "scratchgan: error: "
USER_ERRORS = (DataError, BackendError, CheckpointError, ConfigError, OSError)


def fail(message, status=2):
    """Print the first line of ``message`` as the one-line error; return the exit status."""
    lines = str(message).strip().splitlines() or ["unknown error"]
    print(PREFIX + lines[0], file=sys.stderr)
    return status


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one error line (pointing at --help), not usage plus
    error."""

    def error(self, message):
        sys.exit(fail(f"{message} (see {self.prog} --help)"))


def run(command):
    """Call ``command()`` and turn the errors a user can cause into one line and an exit status.

    argparse's exits (--help, a usage error) become return values too, so ``main(argv)`` always
    returns the status instead of ending the caller's process.
    """
    try:
        return command() or 0
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except TrainingInterrupted as e:
        print(f"scratchgan: {e}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("scratchgan: interrupted", file=sys.stderr)
        return 130
    except TrainingDiverged as e:
        return fail(e, status=1)
    except OSError as e:  # the message of a failed open() does not always say which file
        where = f"{e.filename}: " if e.filename and str(e.filename) not in str(e.strerror) else ""
        return fail(f"{where}{e.strerror or e}")
    except USER_ERRORS as e:
        return fail(e)
