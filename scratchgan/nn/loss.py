"""Loss modules with PyTorch's names, each calling one loss of scratchgan.functional."""
from scratchgan import functional as F
from scratchgan.nn.module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(_Loss):
    def forward(self, input, target):  # noqa: A002  (PyTorch's names)
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)


class BCELoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, self.reduction)


class MSELoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.cross_entropy(input, target, self.reduction)
