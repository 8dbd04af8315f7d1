"""Whether this machine's TensorFlow kernels can run a Keras dtype policy.

`mixed_bfloat16` needs bfloat16 convolutions. TensorFlow's oneDNN kernels
have them on CPUs with AVX-512 (BF16 or AMX for speed); where oneDNN is
limited to AVX2 (an older CPU, or `ONEDNN_MAX_CPU_ISA=AVX2`) the first
bfloat16 convolution aborts. `check_policy` turns that into one line that
names the fix before any data is read.
"""

from __future__ import annotations

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


def check_policy(policy: str) -> None:
  """Raises ConfigError if `policy` needs kernels this machine lacks."""
  if policy == "mixed_bfloat16" and not bfloat16_kernels_available():
    raise errors.ConfigError(
        "--precision=mixed_bfloat16 needs bfloat16 convolutions, which "
        "TensorFlow's kernels on this CPU do not run (oneDNN below "
        "AVX-512); use --precision=float32")
