"""Tests of rae_tf/readers/images.py through the folder reader.

Formats, pixels and conversions: what any image file becomes.
"""

import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from image_folders import numbered, read, save  # tests/image_folders.py


def single(directory, **kwargs):
  """The one image of a folder holding it in train/ (and dummies)."""
  for split in ("validation", "test"):
    numbered(os.path.join(directory, split), 1, start=200)
  return next(read(directory, **kwargs).train.as_numpy_iterator())


def test_square_png_of_the_image_size_keeps_its_pixels(tmp_path):
  pixels = np.random.default_rng(1).integers(0, 256, (32, 32, 3), np.uint8)
  save(tmp_path / "train" / "a.png", pixels)
  np.testing.assert_allclose(single(tmp_path), pixels / 255.0, atol=1e-7)


def test_centre_crop_then_antialiased_bilinear_resize(tmp_path):
  # 40 high x 64 wide: the centred 40x40 square is columns 12..51. Mark the
  # 12 columns cut on each side with 255: none may reach the output.
  rng = np.random.default_rng(2)
  pixels = rng.integers(0, 200, (40, 64, 3), np.uint8)
  pixels[:, :12] = pixels[:, 52:] = 255
  save(tmp_path / "train" / "a.png", pixels)
  crop = pixels[:, 12:52].astype(np.float32) / 255.0
  expected = tf.image.resize(crop, (32, 32), method="bilinear",
                             antialias=True).numpy()
  image = single(tmp_path)
  np.testing.assert_allclose(image, expected, atol=1e-6)
  assert image.max() < 200 / 255 + 1e-6


def test_rgb_to_grey_is_the_bt601_luma_and_grey_to_rgb_repeats(tmp_path):
  rgb = np.random.default_rng(3).integers(0, 256, (32, 32, 3), np.uint8)
  save(tmp_path / "rgb" / "train" / "a.png", rgb)
  grey = single(tmp_path / "rgb", channels=1)
  luma = rgb.astype(np.float32) / 255 @ np.array([0.2989, 0.5870, 0.1140])
  assert grey.shape == (32, 32, 1)
  np.testing.assert_allclose(grey[..., 0], luma, atol=1e-6)
  save(tmp_path / "grey" / "train" / "a.png", rgb[..., 0])
  colour = single(tmp_path / "grey", channels=3)
  np.testing.assert_allclose(colour, np.repeat(rgb[..., :1], 3, -1) / 255,
                             atol=1e-7)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white(tmp_path, mode):
  colour = np.full((32, 32, 3 if mode == "RGBA" else 1), 40, np.uint8)
  alpha = np.full((32, 32, 1), 255, np.uint8)
  alpha[0, 0] = 0  # transparent: white whatever colour is stored
  alpha[0, 1] = 51  # 20% opaque: 0.2 * 40/255 + 0.8
  save(tmp_path / "train" / "a.png", np.concatenate([colour, alpha], -1),
       mode)
  image = single(tmp_path, channels=3 if mode == "RGBA" else 1)
  np.testing.assert_allclose(image[0, 0], 1.0, atol=1e-6)
  np.testing.assert_allclose(image[0, 1], 0.2 * 40 / 255 + 0.8, atol=1e-6)
  np.testing.assert_allclose(image[5, 5], 40 / 255, atol=1e-6)


def test_16_bit_png_matches_its_8_bit_version_and_keeps_its_depth(tmp_path):
  rng = np.random.default_rng(4)
  eight = rng.integers(0, 256, (32, 32, 1), np.uint8)
  # 16-bit values: the 8-bit ones times 257, plus up to 200/65535 of detail
  # that an 8-bit decode would lose.
  sixteen = np.minimum(eight.astype(np.int32) * 257
                       + rng.integers(0, 200, eight.shape), 65535).astype(
                           np.uint16)
  for name, pixels in (("eight", eight), ("sixteen", sixteen)):
    path = tmp_path / name / "train" / "a.png"
    os.makedirs(path.parent)
    path.write_bytes(tf.io.encode_png(pixels).numpy())
  from_eight = single(tmp_path / "eight", channels=1)
  from_sixteen = single(tmp_path / "sixteen", channels=1)
  assert np.abs(from_sixteen - from_eight).max() <= 1 / 255
  np.testing.assert_allclose(from_sixteen, sixteen / 65535.0, atol=1e-6)


def test_gif_gives_its_first_frame(tmp_path):
  first = Image.new("RGB", (32, 32), (255, 0, 0))
  second = Image.new("RGB", (32, 32), (0, 0, 255))
  os.makedirs(tmp_path / "train")
  first.save(tmp_path / "train" / "a.gif", save_all=True,
             append_images=[second], duration=100)
  np.testing.assert_allclose(single(tmp_path)[5, 5], [1.0, 0.0, 0.0],
                             atol=1e-6)
