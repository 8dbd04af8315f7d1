"""Every model trains under mixed_bfloat16 and hands out float32 codes;
where the CPU's kernels cannot, the policy is refused in one line."""

import keras
import numpy as np
import pytest

from rae_tf import config as config_lib
from rae_tf import errors
from rae_tf import models
from rae_tf import precision
from rae_tf.evaluation import features
from kernels import NEEDS_BFLOAT16  # tests/kernels.py
from kernels import dtype_policy


@NEEDS_BFLOAT16
@pytest.mark.parametrize("model,reg", [
    ("rae", "l2"), ("rae", "gp"), ("rae", "sn"), ("vae", "none"),
    ("cvvae", "none"), ("wae", "none"), ("two_stage_vae", "none")])
def test_bfloat16_train_step_and_float32_codes(bfloat16_policy, model, reg):
  config = config_lib.make_config("mnist", model, reg, width=0.0625,
                                  precision="mixed_bfloat16")
  network = models.build_model(config)
  network.compile(optimizer=keras.optimizers.Adam(1e-3))
  images = np.random.default_rng(0).random((8, 32, 32, 1), np.float32)
  logs = network.train_on_batch(images, return_dict=True)
  assert all(np.isfinite(value) for value in logs.values())
  assert network.encoder.layers[1].compute_dtype == "bfloat16"
  assert network.encode(images).dtype == "float32"
  assert network(images).dtype == "float32"  # the sigmoid runs in float32


def test_the_probe_agrees_with_a_keras_bfloat16_convolution():
  # With ONEDNN_MAX_CPU_ISA=AVX2 both are False (this file passes so);
  # on AVX-512 BF16 / AMX CPUs both are True.
  with dtype_policy("mixed_bfloat16"):
    layer = keras.layers.Conv1D(2, 3)
    try:
      layer(np.ones((1, 8, 4), np.float32)).numpy()
      runs = True
    except Exception:  # pylint: disable=broad-except
      runs = False
  assert precision.bfloat16_kernels_available() == runs


def test_missing_bfloat16_kernels_are_refused_with_the_fix(monkeypatch):
  monkeypatch.setattr(precision, "bfloat16_kernels_available", lambda: False)
  with pytest.raises(errors.ConfigError, match=(
      "--precision=mixed_bfloat16 needs bfloat16 convolutions.*use "
      "--precision=float32")):
    with precision.policy("mixed_bfloat16"):
      pass
  assert keras.mixed_precision.global_policy().name == "float32"
  with pytest.raises(ValueError, match="use 'float32'"):
    features.FeatureExtractor(keras.Sequential([keras.layers.Dense(1)]),
                              precision="bfloat16")


def test_the_policy_is_scoped_and_restored_after_an_error():
  with precision.policy("mixed_float16"):
    assert keras.mixed_precision.global_policy().name == "mixed_float16"
    with pytest.raises(RuntimeError):
      with precision.policy("float32"):
        assert keras.mixed_precision.global_policy().name == "float32"
        raise RuntimeError("inside")
    assert keras.mixed_precision.global_policy().name == "mixed_float16"
  assert keras.mixed_precision.global_policy().name == "float32"
