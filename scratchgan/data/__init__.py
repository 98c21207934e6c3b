"""Datasets: MNIST, shipped with the package, and a shuffling batch iterator."""
from scratchgan.data.mnist import (
    BatchIterator,
    DataError,
    load_mnist,
    mnist_dataset,
    to_tanh_range,
)

__all__ = ["BatchIterator", "DataError", "load_mnist", "mnist_dataset", "to_tanh_range"]
