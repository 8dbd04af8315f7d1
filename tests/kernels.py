"""Marks for tests whose subject needs kernels not every CPU's TF has."""

import pytest

from rae_tf import precision

# bfloat16 convolutions: oneDNN on AVX-512 (BF16, AMX) CPUs, not on AVX2
# ones (nor with ONEDNN_MAX_CPU_ISA=AVX2). Where they are missing the
# commands refuse the precision (tests/precision_test.py).
NEEDS_BFLOAT16 = pytest.mark.skipif(
    not precision.bfloat16_kernels_available(),
    reason="TensorFlow's kernels on this CPU run no bfloat16 convolution")
