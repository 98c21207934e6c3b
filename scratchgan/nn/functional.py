"""``import scratchgan.nn.functional as F`` (torch.nn.functional's place): scratchgan.functional."""
from scratchgan.functional import *  # noqa: F403
from scratchgan.functional import __all__  # noqa: F401
