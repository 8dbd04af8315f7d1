"""Every model trains under mixed_bfloat16 and hands out float32 codes."""

import keras
import numpy as np
import pytest

from rae_tf import config as config_lib
from rae_tf import models


@pytest.fixture
def bfloat16_policy():
  keras.mixed_precision.set_global_policy("mixed_bfloat16")
  try:
    yield
  finally:
    keras.mixed_precision.set_global_policy("float32")


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
