"""How the user-data readers (folder, npz) turn any image into the nets' input.

Every image becomes an (N, N, C) float32 image in [0, 1], N = --image_size,
C = --channels, in this order:

1. Unit floats. Files are decoded by `tf.io.decode_image(dtype=float32)`,
   which divides 8-bit values by 255 and decodes 16-bit PNGs at their full
   depth, dividing by 65535 (not truncated to their high byte). Arrays:
   uint8 / 255, floats as they are.
2. Alpha. Grey + alpha and RGBA images are composited on white,
   colour * alpha + 1 - alpha: a transparent pixel becomes white, as most
   viewers show it, not the arbitrary colour stored under it.
3. Channels. Grey -> RGB repeats the grey value; RGB -> grey is the ITU-R
   BT.601 luma of `tf.image.rgb_to_grayscale`, 0.2989 R + 0.5870 G +
   0.1140 B.
4. Centre crop to the largest centred square (the odd pixel of an odd
   difference is cut at the bottom / right).
5. Resize to N x N by `tf.image.resize(method="bilinear", antialias=True)`:
   shrinking averages over the whole footprint of each output pixel (a
   triangle filter widened by the scale factor, no aliasing); enlarging, for
   images smaller than N (the readers count them in a warning), is plain
   bilinear interpolation and blurs. A crop that is already N x N is not
   resampled: its pixels are kept exactly.
"""

from __future__ import annotations

import re
from typing import Optional

import tensorflow as tf


def decode_file(path: tf.Tensor) -> tf.Tensor:
  """Reads a PNG, JPEG, BMP or GIF (first frame).

  Args:
    path: scalar string tensor.

  Returns:
    (H, W, C) float32 in [0, 1]; C is the file's own: 1 (grey), 2 (grey +
    alpha), 3 (RGB) or 4 (RGBA).
  """
  return tf.io.decode_image(tf.io.read_file(path), channels=0,
                            dtype=tf.float32, expand_animations=False)


def decode_error(path: str) -> Optional[str]:
  """Why `path` does not decode (TensorFlow's reason, one line), or None."""
  try:
    decode_file(tf.constant(path))
  except (tf.errors.OpError, ValueError) as e:
    message = getattr(e, "message", str(e)) or type(e).__name__
    # Drop TensorFlow's "{{function_node ...}}" and "[Op:...] name: ".
    message = re.sub(r"\{\{[^}]*\}\}|\[Op:\w+\].*", "", message).strip()
    return message.splitlines()[0] if message else type(e).__name__
  return None


def drop_alpha(image: tf.Tensor) -> tf.Tensor:
  """Composites an image with alpha on white.

  Args:
    image: (H, W, C) float32 in [0, 1]; C = 2 or 4 has alpha last.

  Returns:
    (H, W, 1 or 3) float32 in [0, 1]; images without alpha unchanged.
  """

  def composite():
    colour, alpha = image[..., :-1], image[..., -1:]
    return colour * alpha + (1.0 - alpha)

  if image.shape[-1] is not None:  # arrays: known when the graph is built
    return composite() if image.shape[-1] % 2 == 0 else image
  return tf.cond(tf.shape(image)[-1] % 2 == 0, composite, lambda: image)


def convert_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
  """Grey <-> RGB.

  Args:
    image: (H, W, 1 or 3) float32.
    channels: 1 or 3 wanted.

  Returns:
    (H, W, channels) float32.
  """
  def convert():
    if channels == 1:
      return tf.image.rgb_to_grayscale(tf.ensure_shape(image, (None, None, 3)))
    return tf.tile(image, (1, 1, 3))

  if image.shape[-1] is not None:  # arrays: known when the graph is built
    return image if image.shape[-1] == channels else convert()
  return tf.cond(tf.shape(image)[-1] == channels, lambda: image, convert)


def center_square(image: tf.Tensor, image_size: int) -> tf.Tensor:
  """Centre-crops to a square and resizes it (antialiased bilinear).

  Args:
    image: (H, W, C) float32 in [0, 1].
    image_size: N.

  Returns:
    (N, N, C) float32 in [0, 1].
  """
  height, width = tf.shape(image)[0], tf.shape(image)[1]
  side = tf.minimum(height, width)
  top, left = (height - side) // 2, (width - side) // 2
  crop = image[top:top + side, left:left + side]

  def resize():
    resized = tf.image.resize(crop, (image_size, image_size),
                              method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0)

  return tf.cond(side == image_size, lambda: crop, resize)


def standardize(image: tf.Tensor, image_size: int, channels: int) -> tf.Tensor:
  """Steps 2-5 of the module docstring.

  Args:
    image: (H, W, C) float32 in [0, 1], C in 1..4 (2 and 4: alpha last).
    image_size: N.
    channels: 1 or 3.

  Returns:
    (N, N, channels) float32 in [0, 1].
  """
  image = convert_channels(drop_alpha(image), channels)
  return tf.ensure_shape(center_square(image, image_size),
                         (image_size, image_size, channels))
