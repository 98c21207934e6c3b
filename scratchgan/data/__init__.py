"""Datasets: MNIST and emoji faces, shipped with the package, image folders, and a shuffling
batch iterator."""
from scratchgan.data.faces import load_emoji_faces
from scratchgan.data.images import (
    DataWarning,
    ImageSet,
    check_image_size,
    default_cache_dir,
    load_image_folder,
    read_image,
)
from scratchgan.data.mnist import (
    BatchIterator,
    DataError,
    load_mnist,
    mnist_dataset,
    to_tanh_range,
)

__all__ = ["BatchIterator", "DataError", "DataWarning", "ImageSet", "check_image_size",
           "default_cache_dir", "load_emoji_faces", "load_image_folder", "load_mnist",
           "mnist_dataset", "read_image", "to_tanh_range"]
