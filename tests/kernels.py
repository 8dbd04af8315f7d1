"""Precision in tests: marks for kernels not every CPU's TensorFlow has,
and a scope for Keras' global dtype policy."""

import contextlib

import keras
import pytest

from rae_tf import precision

# bfloat16 convolutions: oneDNN on AVX-512 (BF16, AMX) CPUs, not on AVX2
# ones (nor with ONEDNN_MAX_CPU_ISA=AVX2). Where they are missing the
# commands refuse the precision (tests/precision_test.py).
NEEDS_BFLOAT16 = pytest.mark.skipif(
    not precision.bfloat16_kernels_available(),
    reason="TensorFlow's kernels on this CPU run no bfloat16 convolution")


@contextlib.contextmanager
def dtype_policy(name: str):
  """Keras' global dtype policy is `name` inside the block, float32 after."""
  keras.mixed_precision.set_global_policy(name)
  try:
    yield
  finally:
    keras.mixed_precision.set_global_policy("float32")
