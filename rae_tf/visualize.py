"""Image grids for PNG files and TensorBoard."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def image_grid(images: np.ndarray, columns: int, padding: int = 2) -> np.ndarray:
  """Tiles images row by row on a white background.

  Args:
    images: (N, H, W, C) floats in [0, 1] (values outside are clipped).
    columns: images per row; rows = ceil(N / columns).
    padding: pixels between and around the tiles.

  Returns:
    (rows * (H + padding) + padding, columns * (W + padding) + padding, C)
    uint8 array.
  """
  images = np.asarray(images)
  count, height, width, channels = images.shape
  rows = -(-count // columns)
  grid = np.full((rows * (height + padding) + padding,
                  columns * (width + padding) + padding, channels), 255,
                 np.uint8)
  pixels = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
  for index in range(count):
    top = padding + (index // columns) * (height + padding)
    left = padding + (index % columns) * (width + padding)
    grid[top:top + height, left:left + width] = pixels[index]
  return grid


def png_bytes(grid: np.ndarray) -> bytes:
  """Encodes an (H, W, C) uint8 array, C in {1, 3}, as PNG."""
  return tf.io.encode_png(grid).numpy()
