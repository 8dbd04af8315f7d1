"""The 2-stage VAE: its stage-2 settings, its second stage, export."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import config as config_lib
from rae_tf import export
from rae_tf import models
from rae_tf import presets
from rae_tf import training_flags
from rae_tf.baselines import second_stage


def test_cpu_defaults_shorten_the_second_stage():
  config = config_lib.make_config("mnist", "two_stage_vae")
  assert config.stage2_epochs < presets.STAGE2_EPOCHS


def test_command_line_flags_reach_the_config():
  try:
    training_flags.FLAGS(["rae_tf", "--model=two_stage_vae",
                          "--stage2_epochs=3", "--stage2_kl_weight=0.01",
                          "--stage2_learning_rate=0.002"])
    config = training_flags.config_from_flags()
  finally:
    training_flags.FLAGS.unparse_flags()
  assert (config.model, config.stage2_epochs, config.stage2_kl_weight,
          config.stage2_learning_rate) == ("two_stage_vae", 3, 0.01, 0.002)


@pytest.fixture(scope="module")
def trained_pair():
  """A tiny 2-stage VAE and its trained second stage."""
  config = config_lib.make_config("mnist", "two_stage_vae", width=0.0625,
                                  stage2_epochs=2, stage2_learning_rate=1e-3)
  model = models.build_model(config)
  codes = np.random.default_rng(2).normal(size=(256, 16)).astype(np.float32)
  return model, model.fit_code_sampler(codes)


def test_fit_code_sampler_uses_the_configured_second_stage(trained_pair):
  model, code_sampler = trained_pair
  assert isinstance(code_sampler, second_stage.SecondStageSampler)
  assert code_sampler.built and code_sampler.name == "two_stage_sampler"
  assert (model.stage2_epochs, model.stage2_learning_rate) == (2, 1e-3)
  # The paper's MLP: two hidden ReLU layers of 1024 units, then Dense(d).
  dense = [layer for layer in code_sampler.decoder.layers
           if isinstance(layer, keras.layers.Dense)]
  assert [layer.units for layer in dense] == [1024, 1024, 16]


def assert_serves(outputs, expected_codes, decoder, tolerance):
  """A signature's "codes" are `expected_codes` and its "images" their
  decoding, both within `tolerance` (relative and absolute)."""
  np.testing.assert_allclose(outputs["codes"].numpy(), expected_codes,
                             rtol=tolerance, atol=tolerance)
  np.testing.assert_allclose(
      outputs["images"].numpy(),
      decoder(expected_codes, training=False).numpy(), rtol=tolerance,
      atol=tolerance)


def test_exported_sample_signature_runs_both_stages(trained_pair, tmp_path):
  model, code_sampler = trained_pair
  version_dir = export.export_model(
      model, code_sampler=code_sampler, export_base=str(tmp_path),
      model_name="mnist_two_stage_vae", image_shape=(32, 32, 1),
      latent_dim=16)
  assert os.path.isfile(os.path.join(version_dir, "saved_model.pb"))
  loaded = tf.saved_model.load(version_dir)
  outputs = loaded.signatures["sample"](num_samples=tf.constant(4),
                                        seed=tf.constant(5, tf.int64))
  assert_serves(outputs, code_sampler.sample(4, 5).numpy(), model.decoder,
                tolerance=1e-5)
  # The de-standardisation travels with the SavedModel's variables.
  saved = {v.name.split(":")[0].split("/")[-1]: v.numpy()
           for v in loaded.variables}
  np.testing.assert_array_equal(saved["code_scale"],
                                code_sampler.code_scale.numpy())
  # The authors' REC: the stage-1 means through the whole of stage 2.
  images = np.random.default_rng(4).uniform(0, 1, (3, 32, 32, 1)).astype(
      np.float32)
  outputs = loaded.signatures["reconstruct_sampled"](
      images=tf.constant(images), seed=tf.constant(9, tf.int64))
  assert_serves(outputs, code_sampler.round_trip(model.encode(images),
                                                9).numpy(),
                model.decoder, tolerance=1e-4)
