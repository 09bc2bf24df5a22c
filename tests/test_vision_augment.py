"""Augmentations: the warp kernel against its NumPy reference, hand-computed geometry, the random recipe, bad input."""
import numpy as np
import pytest

from minembed.kernels.augment import _affine_warp_kernel, affine_warp, affine_warp_reference
from minembed.vision.augment import Augment, affine_matrices, rotate, shift, warp


def images(n=4, size=28, seed=0):
    return np.random.default_rng(seed).random((n, size, size)).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_equals_reference_on_random_maps(dtype):
    x = images(6).astype(dtype)
    m = Augment(degrees=30, shear=20, max_shift=5).matrices(6, np.random.default_rng(1))
    m[0, :, 2] += 40.0                                          # one image read entirely from outside
    out = np.empty_like(x)
    _affine_warp_kernel(x, m, dtype(0.25), out)
    np.testing.assert_allclose(out, affine_warp_reference(x, m, 0.25), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(out[0], 0.25)


def test_bilinear_value_by_hand():
    # Read at (x, y) = (1.25, 0.5): rows 0 and 1 weigh 1/2 each, columns 1 and 2 weigh 3/4 and 1/4.
    img = np.arange(12, dtype=np.float64).reshape(1, 3, 4)
    m = np.array([[[0, 0, 1.25], [0, 0, 0.5]]], np.float64)    # every output pixel reads (1.25, 0.5)
    expected = 0.5 * (0.75 * 1 + 0.25 * 2) + 0.5 * (0.75 * 5 + 0.25 * 6)
    np.testing.assert_allclose(affine_warp(img, m), expected)
    np.testing.assert_allclose(affine_warp_reference(img, m), expected)


def test_identity_returns_the_image():
    x = images()
    np.testing.assert_array_equal(warp(x, affine_matrices(4, (28, 28))), x)
    np.testing.assert_array_equal(rotate(x, 0.0), x)
    np.testing.assert_array_equal(shift(x, 0, 0), x)


def test_whole_pixel_shift_moves_a_known_pixel():
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 10, 7] = 1.0
    y = shift(x, 3, -2)                                         # 3 down, 2 left
    assert y[0, 13, 5] == 1.0 and y.sum() == 1.0
    x = images(2)
    y = shift(x, 2, 5)
    np.testing.assert_allclose(y[:, 2:, 5:], x[:, :-2, :-5], atol=1e-6)
    assert not y[:, :2].any() and not y[:, :, :5].any()         # zeros came in


def test_half_pixel_shift_averages_neighbours():
    x = images(1)
    np.testing.assert_allclose(shift(x, 0, 0.5)[0, :, 1:], (x[0, :, 1:] + x[0, :, :-1]) / 2, atol=1e-6)


def test_rotation_by_90_degrees_is_rot90():
    x = images(3)
    np.testing.assert_allclose(rotate(x, 90), np.rot90(x, -1, axes=(1, 2)), atol=1e-5)   # clockwise on screen
    np.testing.assert_allclose(rotate(x, -90), np.rot90(x, 1, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(rotate(x, 180), x[:, ::-1, ::-1], atol=1e-5)


def test_scale_half_zooms_into_the_centre():
    # scale 0.5 about the centre of a 4x4 image: output pixel j reads input x = 1.5 + (j - 1.5) / 2.
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4)
    y = warp(x, affine_matrices(1, (4, 4), scale=(0.5, 0.5)))
    cols = 1.5 + (np.arange(4) - 1.5) / 2
    np.testing.assert_allclose(y[0], 4 * cols[:, None] + cols[None, :])


def test_channels_share_the_image_matrix():
    x = np.random.default_rng(0).random((2, 3, 8, 8)).astype(np.float32)
    m = Augment(img_size=8).matrices(2, np.random.default_rng(5))
    y = warp(x, m)
    for c in range(3):
        np.testing.assert_array_equal(y[:, c], warp(x[:, c], m))


def test_augment_is_seeded_and_in_range():
    x = (images(8) * 255).astype(np.uint8)
    aug = Augment()
    a, b = aug(x, seed=3), aug(x, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (8, 1, 28, 28) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    assert not np.array_equal(a, aug(x, seed=4))
    assert not np.array_equal(a[0], a[1])


def test_augment_with_everything_off_is_the_identity():
    x = (images(5) * 255).astype(np.uint8)
    aug = Augment(crop_scale=(1, 1), crop_ratio=(1, 1), max_shift=0, degrees=0, shear=0, noise=0, cutout=0)
    np.testing.assert_allclose(aug(x, seed=0)[:, 0], x / 255.0, atol=1e-6)


def test_cutout_blanks_a_square_of_the_given_side():
    x = np.ones((50, 28, 28), np.float32)
    aug = Augment(crop_scale=(1, 1), crop_ratio=(1, 1), max_shift=0, degrees=0, shear=0, noise=0, cutout=6,
                  cutout_p=1.0)
    y = aug(x, seed=1)[:, 0]
    for img in y:
        rows, cols = np.nonzero(img == 0)
        assert rows.max() - rows.min() + 1 <= 6 and cols.max() - cols.min() + 1 <= 6
        assert (img == 0).sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    assert np.mean([(img == 0).sum() == 36 for img in y]) > 0.5    # most squares lie fully inside


def test_random_crop_keeps_the_digit_mostly_in_view():
    # The crop box stays inside the image: with no rotation or shift, a pixel 1 everywhere stays 1 (no zeros come in).
    x = np.ones((20, 28, 28), np.float32)
    aug = Augment(crop_scale=(0.3, 1.0), max_shift=0, degrees=0, shear=0, noise=0, cutout=0)
    np.testing.assert_allclose(aug(x, seed=2), 1.0, atol=1e-6)


def test_bad_input():
    aug = Augment()
    with pytest.raises(ValueError, match=r"Augment expects images of shape \(N, 28, 28\)"):
        aug(np.zeros((2, 32, 32), np.uint8), seed=0)
    with pytest.raises(TypeError, match="int64"):
        aug(np.zeros((2, 28, 28), np.int64), seed=0)
    bad = np.zeros((2, 28, 28), np.float32)
    bad[1, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"non-finite pixel .* \(1, 3, 4\)"):
        aug(bad, seed=0)
    with pytest.raises(ValueError, match="crop_scale"):
        Augment(crop_scale=(0.5, 1.5))
    with pytest.raises(ValueError, match="crop_scale"):
        Augment(crop_scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="degrees"):
        Augment(degrees=-1)
    with pytest.raises(ValueError, match="cutout_p"):
        Augment(cutout_p=2)
    with pytest.raises(ValueError, match=r"matrices must have shape \(2, 2, 3\)"):
        affine_warp(np.zeros((2, 4, 4), np.float32), np.zeros((3, 2, 3)))
    with pytest.raises(TypeError, match="float32 or float64"):
        affine_warp(np.zeros((2, 4, 4), np.int32), np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        affine_warp(np.zeros((1, 4, 4), np.float32), np.full((1, 2, 3), np.nan))


def test_warp_matches_torch_grid_sample():
    """The same inverse maps in PyTorch's normalised coordinates (align_corners=False: x_n = (2x + 1) / W - 1),
    applied by F.grid_sample (bilinear, zero padding): the same pixels."""
    torch = pytest.importorskip("torch")
    size = 28
    m = Augment(degrees=25, shear=15, max_shift=3).matrices(5, np.random.default_rng(4))
    norm = np.array([[2 / size, 0, 1 / size - 1], [0, 2 / size, 1 / size - 1], [0, 0, 1]])
    full = np.concatenate([m, np.tile([[[0.0, 0.0, 1.0]]], (5, 1, 1))], axis=1)
    theta = torch.tensor((norm @ full @ np.linalg.inv(norm))[:, :2])
    x = np.random.default_rng(5).random((5, 1, size, size))
    grid = torch.nn.functional.affine_grid(theta, (5, 1, size, size), align_corners=False)
    ref = torch.nn.functional.grid_sample(torch.tensor(x), grid, mode="bilinear", padding_mode="zeros",
                                          align_corners=False).numpy()
    np.testing.assert_allclose(warp(x, m), ref, atol=1e-9)
