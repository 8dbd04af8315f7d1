"""Image grids."""

import numpy as np
import tensorflow as tf

from rae_tf import visualize


def test_grid_places_tiles_row_major_with_padding():
  images = np.zeros((3, 2, 2, 1), np.float32)
  images[1] = 1.0  # second tile white
  images[2] = 0.5
  grid = visualize.image_grid(images, columns=2, padding=1)
  # 2 rows x 2 columns of 2x2 tiles, 1-pixel padding: (2*3+1, 2*3+1).
  assert grid.shape == (7, 7, 1) and grid.dtype == np.uint8
  assert np.all(grid[1:3, 1:3] == 0)      # tile 0 at row 0, column 0
  assert np.all(grid[1:3, 4:6] == 255)    # tile 1 at row 0, column 1
  assert np.all(grid[4:6, 1:3] == 128)    # tile 2 at row 1, column 0
  assert np.all(grid[4:6, 4:6] == 255)    # empty slot stays background
  assert np.all(grid[0] == 255)           # padding


def test_png_round_trip():
  grid = visualize.image_grid(np.random.default_rng(0).random((4, 5, 5, 3)),
                              columns=2)
  decoded = tf.io.decode_png(visualize.png_bytes(grid)).numpy()
  np.testing.assert_array_equal(decoded, grid)
