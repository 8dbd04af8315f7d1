"""Keras dtype policies, refused up front where this CPU cannot run them.

`mixed_bfloat16` needs bfloat16 convolutions. TensorFlow's oneDNN kernels
have them on CPUs with AVX-512 (BF16 or AMX for speed); where oneDNN is
limited to AVX2 (an older CPU, or `ONEDNN_MAX_CPU_ISA=AVX2`) the first
bfloat16 convolution aborts. `policy` turns that into one line that names
the fix before any data is read, then sets the policy for a block and
restores the caller's afterwards, so a Python caller that builds a model
after a bfloat16 run gets the policy it had.
"""

from __future__ import annotations

import contextlib
import functools

from rae_tf import errors


@functools.lru_cache(maxsize=None)
def bfloat16_kernels_available() -> bool:
  """True if a (1, 4, 4, 1) * (2, 2, 1, 1) bfloat16 convolution runs here."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    images = tf.ones((1, 4, 4, 1), tf.bfloat16)
    kernel = tf.ones((2, 2, 1, 1), tf.bfloat16)
    tf.nn.conv2d(images, kernel, 1, "VALID").numpy()
  except tf.errors.OpError:
    return False
  return True


def require_bfloat16_kernels(setting: str, instead: str) -> None:
  """Raises ConfigError naming `setting` and the fix `instead` if needed."""
  if not bfloat16_kernels_available():
    raise errors.ConfigError(
        f"{setting} needs bfloat16 convolutions, which TensorFlow's kernels "
        f"on this CPU do not run (oneDNN below AVX-512); use {instead}")


@contextlib.contextmanager
def policy(name: str):
  """Keras' global dtype policy is `name` inside the block; the previous
  one is restored after it, exception or not.

  Raises:
    errors.ConfigError: `mixed_bfloat16` without bfloat16 kernels (the
      policy is left as it was).
  """
  import keras  # pylint: disable=g-import-not-at-top
  if name == "mixed_bfloat16":
    require_bfloat16_kernels("--precision=mixed_bfloat16",
                             "--precision=float32")
  previous = keras.mixed_precision.global_policy()
  keras.mixed_precision.set_global_policy(name)
  try:
    yield
  finally:
    keras.mixed_precision.set_global_policy(previous)
