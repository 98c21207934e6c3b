"""``torch.nn.functional``'s place: ``import scratchgan.nn.functional as F`` is scratchgan.functional."""
from scratchgan.functional import *  # noqa: F403
from scratchgan.functional import __all__  # noqa: F401
