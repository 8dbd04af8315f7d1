"""Tests of rae_tf.evaluation.evaluate: the Table-1 columns of one run.

A stand-in feature network (mean colour) replaces the Inception, so these
run in seconds; `table_test.py` runs the real one end to end.
"""

import dataclasses
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from rae_tf import config as config_lib
from rae_tf.evaluation import evaluate
from rae_tf.evaluation import features
from rae_tf.evaluation import fid
from rae_tf.evaluation import kid
from rae_tf.evaluation import prd
from rae_tf import train


def _mean_colour_extractor():
  inputs = keras.Input((299, 299, 3))
  net = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
  return features.FeatureExtractor(net, batch_size=64)


def _identity_run(workdir, num):
  """An 'autoencoder' of (num, 1, 1) one-pixel-per-image images: z = x."""
  config = config_lib.make_config("mnist", "rae", "l2", epochs=3)

  def encode(images):
    return images.reshape(len(images), -1)

  def decode(codes):
    return codes.reshape(len(codes), num, 1, 1)

  def sampler(count, seed):
    return np.random.default_rng(seed).uniform(0, 1, (count, num))

  return evaluate.TrainedRun(str(workdir), config, encode, decode,
                             {"N": sampler, "GMM": sampler})


def test_columns_are_reconstructions_samples_and_midpoints(tmp_path):
  num = 40
  # Image i is the one-hot vector e_i: a mid-point (e_a + e_b) / 2 shows
  # which pair it came from.
  test_images = np.eye(num, dtype=np.float32).reshape(num, num, 1, 1)
  images = evaluate.generated_images(_identity_run(tmp_path, num),
                                     test_images, seed=3)
  assert list(images) == ["REC", "N", "GMM", "Interp."]
  for column in images.values():
    assert column.shape == test_images.shape
  np.testing.assert_array_equal(images["REC"], test_images)
  midpoints = images["Interp."].reshape(num, num)
  # Two distinct halves per mid-point, pairs drawn at random (not i, i+1).
  np.testing.assert_array_equal(np.sort(midpoints, axis=1)[:, -2:], 0.5)
  assert np.all(np.count_nonzero(midpoints, axis=1) == 2)
  pairs = {tuple(np.flatnonzero(row)) for row in midpoints}
  assert len(pairs) > num // 2
  np.testing.assert_array_equal(
      images["N"].reshape(num, num),
      np.random.default_rng(3).uniform(0, 1, (num, num)))


def test_column_scores_match_an_independent_computation():
  rng = np.random.default_rng(0)
  generated = rng.normal(size=(30, 4))
  reference = rng.normal(0.5, 1.0, size=(50, 4))
  scores = evaluate.column_scores(generated, reference, seed=1,
                                  with_prd=True)
  mu1, sigma1 = fid.statistics(generated)
  mu2, sigma2 = fid.statistics(reference)
  assert scores["fid"]["value"] == pytest.approx(
      fid.frechet_distance(mu1, sigma1, mu2, sigma2), rel=1e-6)
  assert (scores["fid"]["n"], scores["fid"]["n_reference"]) == (30, 50)
  # KID of all 30 vs all 50 features (subsets of 30), seeded by `seed`.
  assert (scores["kid_mean"], scores["kid_std"]) == (
      kid.kernel_inception_distance(generated, reference, seed=1))
  assert scores["kid_std"] > 0.0
  # PRD needs balanced sets: the first 30 of each.
  expected = prd.prd_from_features(generated, reference[:30], seed=1)
  assert scores["prd"]["f_8"] == pytest.approx(expected.f_8)
  assert scores["prd"]["n"] == scores["prd"]["n_reference"] == 30
  assert "prd" not in evaluate.column_scores(generated, reference, seed=1,
                                             with_prd=False)


def test_prd_is_for_the_generation_column():
  assert evaluate.prd_column(evaluate.COLUMNS) == "GMM"
  assert evaluate.prd_column(("REC", "N", "Interp.")) == "N"


def test_evaluate_run_writes_json_and_tensorboard(tmp_path):
  num = 25
  rng = np.random.default_rng(1)
  test_images = rng.uniform(0, 1, (num, num, 1, 1)).astype(np.float32)
  extractor = _mean_colour_extractor()
  reference = extractor(rng.uniform(0, 1, (num, num, 1, 1)))
  run = _identity_run(tmp_path, num)
  evaluation = evaluate.evaluate_run(run, test_images, reference, extractor,
                                     seed=0)
  assert evaluation["reconstruction_mse"] == 0.0
  assert set(evaluation["columns"]) == set(evaluate.COLUMNS)
  assert [c for c, scores in evaluation["columns"].items()
          if "prd" in scores] == ["GMM"]
  # REC of a perfect autoencoder is the FID of the test images themselves.
  direct = fid.fid_from_features(extractor(test_images),
                                 fid.FeatureStatistics.from_features(reference))
  assert evaluation["columns"]["REC"]["fid"]["value"] == pytest.approx(
      direct.value, rel=1e-9)
  kid_mean, kid_std = kid.kernel_inception_distance(extractor(test_images),
                                                    reference, seed=0)
  assert evaluation["columns"]["REC"]["kid_mean"] == pytest.approx(
      kid_mean, rel=1e-9)
  assert evaluation["columns"]["REC"]["kid_std"] == pytest.approx(
      kid_std, rel=1e-9)
  assert all({"fid", "kid_mean", "kid_std"} <= set(scores)
             for scores in evaluation["columns"].values())
  with open(tmp_path / evaluate.EVALUATION_FILE) as f:
    assert json.load(f) == evaluation
  scalars = {}
  log_dir = tmp_path / "tensorboard" / "evaluation"
  for name in os.listdir(log_dir):
    for event in tf.compat.v1.train.summary_iterator(str(log_dir / name)):
      for value in event.summary.value:
        scalars[value.tag] = (event.step,
                              float(tf.make_ndarray(value.tensor)))
  assert scalars["fid/GMM"] == pytest.approx(
      (3, evaluation["columns"]["GMM"]["fid"]["value"]))
  assert scalars["kid/GMM"] == pytest.approx(
      (3, evaluation["columns"]["GMM"]["kid_mean"]))
  assert {"fid/REC", "fid/N", "fid/Interp.", "kid/REC", "kid/N",
          "kid/Interp.", "prd_f8/GMM", "prd_f1_8/GMM",
          "reconstruction_mse"} <= set(scalars)
  assert "prd_f8/REC" not in scalars


def test_rec_decodes_posterior_draws_unless_asked_for_the_mean(tmp_path):
  num = 300  # two batches of evaluate._BATCH = 250
  test_images = np.eye(num, dtype=np.float32).reshape(num, num, 1, 1)
  calls = []

  def reconstruct_sampled(images, seed):
    calls.append((len(images), seed))
    return images + 0.25

  run = dataclasses.replace(
      _identity_run(tmp_path, num), reconstruct_sampled=reconstruct_sampled,
      config=config_lib.make_config("mnist", "vae", epochs=3))
  sampled = evaluate.generated_images(run, test_images, seed=3)
  np.testing.assert_array_equal(sampled["REC"], test_images + 0.25)
  # Each batch draws with its own seed.
  assert calls == [(250, 3), (50, 253)]
  mean = evaluate.generated_images(run, test_images, seed=3,
                                   vae_reconstruction="mean")
  np.testing.assert_array_equal(mean["REC"], test_images)
  # Only REC differs: the other columns decode the same codes and samples.
  for column in ("N", "GMM", "Interp."):
    np.testing.assert_array_equal(sampled[column], mean[column])
  # A deterministic model's REC is its reconstruction under either setting.
  deterministic = dataclasses.replace(run, config=_identity_run(
      tmp_path, num).config)
  np.testing.assert_array_equal(
      evaluate.generated_images(deterministic, test_images, seed=3)["REC"],
      test_images)
  # A VAE exported before `reconstruct_sampled` existed: sampled REC is
  # refused with the fix named, the mean still works.
  old = dataclasses.replace(run, reconstruct_sampled=None)
  with pytest.raises(evaluate.EvaluationError,
                     match="--vae_reconstruction=mean"):
    evaluate.generated_images(old, test_images, seed=3)
  evaluate.generated_images(old, test_images, seed=3,
                            vae_reconstruction="mean")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("evaluate") / "run")
  config = config_lib.make_config(
      "mnist", "rae", "l2", width=0.03125, epochs=1, max_train_examples=200,
      gmm_components=2)
  train.run(config, workdir)
  return workdir


def test_load_run_serves_the_export_and_the_fitted_densities(trained_run):
  run = evaluate.load_run(trained_run)
  images = np.random.default_rng(2).uniform(0, 1, (3, 32, 32, 1))
  codes = run.encode(images.astype(np.float32))
  assert codes.shape == (3, run.config.latent_dim)
  assert run.decode(codes).shape == (3, 32, 32, 1)
  assert set(run.samplers) == {"N", "GMM"}
  samples = run.samplers["GMM"](7, 0)
  assert samples.shape == (7, run.config.latent_dim)
  np.testing.assert_array_equal(samples, run.samplers["GMM"](7, 0))


def test_load_run_without_results_names_the_fix(tmp_path):
  with pytest.raises(evaluate.EvaluationError, match="train it first"):
    evaluate.load_run(str(tmp_path))
