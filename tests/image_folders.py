"""Small image folders written with PIL, and the folder reader that reads them.

Shared by folder_test.py, images_test.py and folder_end_to_end_test.py.
"""

import os

import numpy as np
from PIL import Image

from rae_tf.data import ReadOptions
from rae_tf.readers import folder


def save(path, pixels, mode=None, **kwargs):
  """Writes (H, W[, C]) uint8 `pixels` with PIL; the format from the name."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(np.asarray(pixels), mode).save(path, **kwargs)
  return str(path)


def numbered(directory, count, size=(32, 32), ext="png", start=0):
  """`count` RGB images whose pixel [0, 0, 0] is their number."""
  paths = []
  for i in range(start, start + count):
    pixels = np.full((*size, 3), 100, np.uint8)
    pixels[0, 0, 0] = i
    paths.append(save(os.path.join(directory, f"{i:03d}.{ext}"), pixels))
  return paths


def read(directory, image_size=32, channels=3, **kwargs):
  return folder.read_folder(str(directory), ReadOptions(
      image_size=image_size, channels=channels, **kwargs))
