"""scratchgan.edit: interpolation, inversion and inpainting through a frozen generator."""
import numpy
import pytest

from scratchgan import edit
from scratchgan.models import build
from scratchgan.run import noise
from scratchgan.trainer import generate_images


@pytest.fixture(scope="module")
def generator():
    """A small MLP generator: random weights already draw varied images, all of them its own."""
    from scratchgan import backend as B
    B.seed(1)
    G, _ = build("mlp", latent_dim=16, g_hidden=(64, 128))
    return G


def test_slerp_keeps_to_the_sphere_and_hits_both_ends():
    z0, z1 = noise(2, 64, 0)
    path = edit.latent_path(z0, z1, 9, "slerp")
    numpy.testing.assert_allclose(path[0], z0, atol=1e-5)
    numpy.testing.assert_allclose(path[-1], z1, atol=1e-5)
    radius = numpy.linalg.norm(path, axis=1)
    line = numpy.linalg.norm(edit.latent_path(z0, z1, 9, "linear"), axis=1)
    # the straight line sags towards the origin in the middle; the arc does not
    assert line[4] < 0.85 * min(radius[0], radius[-1])
    assert radius[4] > 0.95 * min(radius[0], radius[-1])


def test_interpolate_draws_the_ends_of_the_path(generator):
    z = noise(2, 16, 3)
    frames = edit.interpolate(generator, z[0], z[1], steps=5, mode="linear")
    assert frames.shape == (5, 1, 28, 28)
    numpy.testing.assert_allclose(frames[[0, -1]], generate_images(generator, z), atol=1e-6)
    with pytest.raises(ValueError, match="mode"):
        edit.interpolate(generator, z[0], z[1], mode="cubic")
    with pytest.raises(ValueError, match="not conditional"):
        edit.interpolate(generator, z[0], z[1], label=3)


def test_inverting_the_generators_own_images_recovers_them(generator):
    targets = generate_images(generator, noise(6, 16, 11))
    found = edit.invert(generator, targets, steps=300, restarts=4, seed=0)
    random_error = ((generate_images(generator, noise(6, 16, 12)) - targets) ** 2).mean()
    assert found.z.shape == (6, 16) and found.images.shape == targets.shape
    assert found.error.max() < random_error / 50, (found.error, random_error)
    numpy.testing.assert_allclose(found.images, generate_images(generator, found.z), atol=1e-6)


def test_more_restarts_never_do_worse(generator):
    targets = generate_images(generator, noise(4, 16, 21))
    one = edit.invert(generator, targets, steps=30, restarts=1, seed=5)
    four = edit.invert(generator, targets, steps=30, restarts=4, seed=5)  # its first is `one`'s
    assert (four.error <= one.error + 1e-7).all()


def test_inversion_leaves_the_generator_as_it_was(generator):
    before = [p.array.copy() for p in generator.parameters()]
    generator.train()
    edit.invert(generator, generate_images(generator, noise(2, 16, 0)), steps=3, restarts=2)
    assert generator.training and all(p.requires_grad for p in generator.parameters())
    assert all((p.array == b).all() for p, b in zip(generator.parameters(), before))
    assert all(p.grad is None for p in generator.parameters())


def test_inpainting_a_generated_image_beats_mean_filling(generator):
    truth = generate_images(generator, noise(8, 16, 31))
    hidden = edit.make_mask("center", (28, 28), fraction=0.3)
    repaired = edit.inpaint(generator, truth, hidden, steps=300, restarts=4)
    known_error, hidden_error = edit.pixel_errors(repaired.images, truth, hidden)
    mean_fill = edit.fill_mean(truth, hidden, truth.mean(0))
    _, mean_error = edit.pixel_errors(mean_fill, truth, hidden)
    assert hidden_error.mean() < mean_error.mean() / 10, (hidden_error, mean_error)
    assert known_error.mean() < 1e-3
    # known pixels away from the border are exactly the image's own
    far = ~edit._dilate(edit._dilate(edit._dilate(hidden[None, None])))[0, 0]
    numpy.testing.assert_array_equal(repaired.images[:, :, far], truth[:, :, far])


def test_feather_fades_over_the_border_only():
    hidden = numpy.zeros((1, 1, 9, 9), bool)
    hidden[0, 0, 3:6, 3:6] = True
    keep = edit.feather(hidden, border=2)[0, 0]
    assert (keep[3:6, 3:6] == 0).all()
    assert keep[2, 4] == pytest.approx(1 / 3) and keep[1, 4] == pytest.approx(2 / 3)
    assert keep[0, 4] == 1 and keep[8, 8] == 1


def test_fill_nearest_copies_the_closest_pool_image():
    pool = numpy.random.default_rng(0).uniform(-1, 1, (20, 1, 8, 8)).astype(numpy.float32)
    hidden = edit.make_mask("left", (8, 8))
    filled = edit.fill_nearest(pool[[7, 3]], hidden, pool)
    numpy.testing.assert_array_equal(filled, pool[[7, 3]])


@pytest.mark.parametrize("kind, hidden_pixels", [("center", 49), ("left", 98), ("right", 98),
                                                 ("top", 98), ("bottom", 98)])
def test_masks_hide_what_they_say(kind, hidden_pixels):
    mask = edit.make_mask(kind, (14, 14))
    assert mask.sum() == hidden_pixels
    assert {"left": mask[:, 0].all(), "right": mask[:, -1].all(), "top": mask[0].all(),
            "bottom": mask[-1].all(), "center": mask[7, 7] and not mask[0, 0]}[kind]
    random = edit.make_mask("random", (14, 14), seed=1)
    assert 0.3 < random.mean() < 0.7
    with pytest.raises(ValueError, match="unknown mask"):
        edit.make_mask("ring", (14, 14))


def test_bad_sizes_are_named(generator):
    with pytest.raises(ValueError, match=r"shape \(1, 28, 28\)"):
        edit.invert(generator, numpy.zeros((1, 1, 32, 32), numpy.float32))
    with pytest.raises(ValueError, match="mask"):
        edit.inpaint(generator, numpy.zeros((1, 1, 28, 28), numpy.float32),
                     numpy.zeros((32, 32), bool))


def test_conditional_inversion_needs_labels_and_class_morph_blends():
    G, _ = build("cgan", latent_dim=8, g_hidden=(32,), d_hidden=(32,))
    z = noise(1, 8, 0)[0]
    frames = edit.class_morph(G, z, 2, 5, steps=4)
    numpy.testing.assert_allclose(frames[0], generate_images(G, z[None], labels=[2])[0], atol=1e-6)
    numpy.testing.assert_allclose(frames[-1], generate_images(G, z[None], labels=[5])[0], atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        edit.invert(G, frames[:1])
    found = edit.invert(G, frames[:1], labels=[2], steps=5, restarts=1)
    assert found.z.shape == (1, 8)
