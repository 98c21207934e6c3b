"""MNIST loading, its error messages, and the shuffling batch iterator."""
import gzip
import shutil

import numpy
import pytest

from scratchgan import backend as B
from scratchgan.data import BatchIterator, DataError, load_mnist, mnist_dataset, to_tanh_range
from scratchgan.data.mnist import MAGIC, PACKAGED_DIR

TEST_FILES = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def write_idx(path, array, kind):
    """A minimal idx writer: magic number, big-endian dimensions, raw uint8 bytes."""
    array = numpy.asarray(array, dtype=numpy.uint8)
    header = MAGIC[kind].to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def write_tiny_mnist(folder, n=50, seed=0, images_name="train-images-idx3-ubyte",
                     labels_name="train-labels-idx1-ubyte"):
    rng = numpy.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=numpy.uint8)
    labels = rng.integers(0, 10, n, dtype=numpy.uint8)
    write_idx(folder / images_name, images, "images")
    write_idx(folder / labels_name, labels, "labels")
    return images, labels


def copy_packaged(folder, names=TEST_FILES):
    for name in [*names, "SHA256SUMS"]:
        shutil.copy(PACKAGED_DIR / name, folder / name)


# -- the packaged files --

@pytest.mark.parametrize("split, n", [("train", 60000), ("test", 10000)])
def test_packaged_splits_parse(split, n):
    images, labels = load_mnist(split)
    assert images.shape == (n, 28, 28) and labels.shape == (n,)
    assert images.dtype == numpy.uint8 and labels.dtype == numpy.uint8
    assert set(numpy.unique(labels)) == set(range(10))


def test_tanh_range_is_exactly_minus_one_to_one():
    x, labels = mnist_dataset(split="test")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == numpy.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert len(labels) == 10000


def test_to_tanh_range_maps_the_ends_exactly():
    x = to_tanh_range(numpy.array([[[0, 255]]], dtype=numpy.uint8))
    assert x.dtype == numpy.float32 and x.shape == (1, 1, 1, 2)
    assert x.tolist() == [[[[-1.0, 1.0]]]]


def test_limit_and_cached_arrays_are_read_only():
    images, labels = load_mnist("test", limit=7)
    assert images.shape == (7, 28, 28) and labels.shape == (7,)
    with pytest.raises(ValueError):
        images[0, 0, 0] = 1  # shared with the cache, so it must not be writable


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split"):
        load_mnist("validation")


# -- broken folders --

def test_corrupt_file_is_named(tmp_path):
    copy_packaged(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: SHA-256 mismatch"):
        load_mnist("test", data_dir=tmp_path)


def test_missing_file_is_named(tmp_path):
    copy_packaged(tmp_path, names=TEST_FILES[:1])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte") as info:
        load_mnist("test", data_dir=tmp_path)
    assert "expected one of" in str(info.value)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_mnist("train", data_dir=tmp_path / "nowhere")


@pytest.mark.parametrize("images_name, labels_name", [
    ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"),
])
def test_self_made_folder_loads(tmp_path, images_name, labels_name):
    expected_images, expected_labels = write_tiny_mnist(tmp_path, images_name=images_name,
                                                        labels_name=labels_name)
    images, labels = load_mnist("train", data_dir=tmp_path)
    numpy.testing.assert_array_equal(images, expected_images)
    numpy.testing.assert_array_equal(labels, expected_labels)


def test_truncated_idx_file(tmp_path):
    write_tiny_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError,
                       match=r"train-images-idx3-ubyte: header gives shape \(50, 28, 28\)"):
        load_mnist("train", data_dir=tmp_path)


def test_truncated_gzip_file(tmp_path):
    write_tiny_mnist(tmp_path, images_name="train-images-idx3-ubyte.gz")
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: not a valid gzip file"):
        load_mnist("train", data_dir=tmp_path)


def test_labels_file_in_the_images_slot(tmp_path):
    write_tiny_mnist(tmp_path)
    shutil.copy(tmp_path / "train-labels-idx1-ubyte", tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(DataError, match="magic number 0x00000801, expected 0x00000803"):
        load_mnist("train", data_dir=tmp_path)


def test_count_mismatch(tmp_path):
    write_tiny_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", numpy.zeros(49), "labels")
    with pytest.raises(DataError, match="50 images but .* 49 labels"):
        load_mnist("train", data_dir=tmp_path)


# -- BatchIterator --

def numbered_images(n):
    """Image i is filled with the value i, so a batch reveals which samples it holds."""
    return numpy.broadcast_to(numpy.arange(n, dtype=numpy.float32)[:, None, None, None],
                              (n, 1, 28, 28)).copy()


def epoch_ids(iterator):
    return [B.to_numpy(batch[:, 0, 0, 0]).astype(int).tolist() for batch in iterator]


def test_batches_have_the_right_shape_and_dtype():
    batches = list(BatchIterator(numbered_images(10), batch_size=4))
    assert len(batches) == 2
    for batch in batches:
        assert isinstance(batch, B.get_backend().array_type)
        assert batch.shape == (4, 1, 28, 28) and batch.dtype == numpy.float32


def test_every_sample_once_per_epoch_without_drop_last():
    iterator = BatchIterator(numbered_images(10), batch_size=3, drop_last=False)
    assert len(iterator) == 4
    for _ in range(3):
        ids = epoch_ids(iterator)
        assert [len(b) for b in ids] == [3, 3, 3, 1]
        assert sorted(sum(ids, [])) == list(range(10))


def test_same_seed_same_order_and_epochs_differ():
    a = BatchIterator(numbered_images(20), batch_size=5, seed=3)
    b = BatchIterator(numbered_images(20), batch_size=5, seed=3)
    first = epoch_ids(a)
    assert first == epoch_ids(b)
    assert epoch_ids(a) != first


def test_state_dict_round_trip_reproduces_the_next_epoch():
    a = BatchIterator(numbered_images(20), batch_size=5, seed=3)
    epoch_ids(a)
    state = a.state_dict()
    expected = epoch_ids(a)
    b = BatchIterator(numbered_images(20), batch_size=5, seed=99)
    b.load_state_dict(state)
    assert epoch_ids(b) == expected


def test_batch_larger_than_dataset_is_refused():
    with pytest.raises(ValueError, match="cannot fill one batch"):
        BatchIterator(numbered_images(3), batch_size=4)


@pytest.mark.gpu
def test_cupy_batches_match_numpy_order():
    try:
        B.get_backend("cupy")
    except B.BackendError as e:
        pytest.skip(str(e))
    gpu = BatchIterator(numbered_images(20), batch_size=5, seed=1, backend="cupy")
    cpu = BatchIterator(numbered_images(20), batch_size=5, seed=1, backend="numpy")
    gpu_batches = list(gpu)
    assert all(isinstance(batch, B.get_backend("cupy").array_type) for batch in gpu_batches)
    assert epoch_ids(gpu_batches) == epoch_ids(cpu)
