"""A small baseline model for the baseline tests (vae_test, baselines_test)."""

import keras

from rae_tf import config as config_lib
from rae_tf import models


def small_model(model, width=0.0625, learning_rate=1e-3, **overrides):
  config = config_lib.make_config("mnist", model, width=width, **overrides)
  built = models.build_model(config)
  built.compile(optimizer=keras.optimizers.Adam(learning_rate))
  return built
