"""The paper's Table-1 evaluation of one trained run.

Every column is an FID against Inception features of the first N_ref test
images (Ghosh et al., 2020, Sec. 6 and Table 1):
  REC      reconstructions D(E(x)) of held-out images x, disjoint from the
           reference (`protocol.choose_held_out`: test images after the
           reference, else validation, else training images); under
           vae_reconstruction="sampled" (the default, the authors' form) the
           VAEs decode a seeded draw z ~ q(z|x) instead of the mean, and the
           2sVAE its mean through stage 2 (the export's
           `reconstruct_sampled`)
  N        decoded samples of the "N" density: a Gaussian fitted to the
           training codes (deterministic models and the CV-VAE), the prior
           N(0, I) (VAE, WAE), or the trained second stage (two-stage VAE)
  GMM      decoded samples of the ex-post 10-component GMM
  Interp.  decoded mid-points D((z_a + z_b) / 2) of random pairs of codes of
           the held-out images
with a KID (`rae_tf.evaluation.kid`) of the same features beside each FID (x10^3 in
print, unscaled in evaluation.json), and the per-pixel squared
reconstruction error and precision/recall for distributions (F_8, F_1/8) of
the generation column (GMM, or N where there is no GMM column): PRD's ten
k-means clusterings cost about as much as the features of a column on CPU,
and the paper reports it for samples. The model
is the run's exported SavedModel (what is served is what is measured); the
densities are its `samplers/*.npz`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable

import numpy as np
import tensorflow as tf
from absl import logging

from rae_tf import config as config_lib
from rae_tf import errors
from rae_tf.evaluation import features as features_lib
from rae_tf.evaluation import fid
from rae_tf import files
from rae_tf.evaluation import kid
from rae_tf.evaluation import prd
from rae_tf import sampler as sampler_lib

COLUMNS = ("REC", "N", "GMM", "Interp.")
EVALUATION_FILE = "evaluation.json"
# Models whose N column is their own trained sampler (the export's `sample`
# signature) and which have no GMM column in the paper.
_OWN_SAMPLER_MODELS = frozenset({"two_stage_vae"})
# Models with a posterior q(z|x), whose export has `reconstruct_sampled`.
POSTERIOR_MODELS = frozenset({"vae", "cvvae", "two_stage_vae"})
_BATCH = 250  # images per SavedModel call

CodeSampler = Callable[[int, int], np.ndarray]  # (num, seed) -> (num, d)


class EvaluationError(errors.UserError):
  """A run cannot be evaluated as asked."""


@dataclasses.dataclass(frozen=True)
class TrainedRun:
  """What evaluation needs of a finished run.

  Attributes:
    workdir: the run's work directory.
    config: its configuration.
    encode: (B, H, W, C) images in [0, 1] -> (B, d) codes.
    decode: (B, d) codes -> (B, H, W, C) images in [0, 1].
    samplers: Table-1 column ("N", "GMM") -> code sampler.
    reconstruct_sampled: (images (B, H, W, C), seed) -> (B, H, W, C) decoded
      posterior draws, for POSTERIOR_MODELS; None for the others.
  """

  workdir: str
  config: config_lib.Config
  encode: Callable[[np.ndarray], np.ndarray]
  decode: Callable[[np.ndarray], np.ndarray]
  samplers: dict[str, CodeSampler]
  reconstruct_sampled: Callable[[np.ndarray, int], np.ndarray] | None = None


def _batched(function, inputs: np.ndarray) -> np.ndarray:
  return np.concatenate([function(inputs[i:i + _BATCH])
                         for i in range(0, len(inputs), _BATCH)])


def mixture_sampler(mixture: sampler_lib.GaussianMixture) -> CodeSampler:
  """A fitted density as a CodeSampler: (num, seed) -> (num, d) codes."""
  layer = sampler_lib.MixtureSampler.from_mixture(mixture)
  return lambda num, seed: layer.sample(num, seed).numpy()


def load_run(workdir: str) -> TrainedRun:
  """Loads a finished run's export and ex-post densities.

  Raises:
    EvaluationError: `workdir` holds no finished run (no results.json).
  """
  results_path = os.path.join(workdir, "results.json")
  if not os.path.isfile(results_path):
    raise EvaluationError(
        f"{workdir} holds no finished run (no results.json); train it first "
        "(python -m rae_tf.main --workdir=...) or rerun the table to resume")
  with open(results_path) as f:
    results = json.load(f)
  with open(os.path.join(workdir, "config.json")) as f:
    config = config_lib.Config.from_json(f.read())
  served = tf.saved_model.load(os.path.join(workdir, results["export_dir"]))
  signatures = served.signatures

  # The export refuses requests above its --max_samples_per_request.
  chunk = config.max_samples_per_request

  def encode(images):
    return np.concatenate([
        signatures["encode"](images=tf.constant(images[i:i + chunk]))[
            "codes"].numpy() for i in range(0, len(images), chunk)])

  def decode(codes):
    return np.concatenate([
        signatures["decode"](codes=tf.constant(codes[i:i + chunk]))[
            "images"].numpy() for i in range(0, len(codes), chunk)])

  def reconstruct_sampled(images, seed):
    # Chunk k of the request draws with seed + k.
    return np.concatenate([
        signatures["reconstruct_sampled"](
            images=tf.constant(images[start:start + chunk]),
            seed=tf.constant(seed + k, tf.int64))["images"].numpy()
        for k, start in enumerate(range(0, len(images), chunk))])

  if config.model in _OWN_SAMPLER_MODELS:
    def own_sampler(num, seed):
      # Chunk k of the request draws with seed + k.
      return np.concatenate([
          signatures["sample"](
              num_samples=tf.constant(min(chunk, num - start), tf.int32),
              seed=tf.constant(seed + k, tf.int64))["codes"].numpy()
          for k, start in enumerate(range(0, num, chunk))])
    samplers = {"N": own_sampler}
  else:
    samplers = {
        column: mixture_sampler(sampler_lib.GaussianMixture.load(
            os.path.join(workdir, "samplers", f"{name}.npz")))
        for column, name in (("N", "gaussian"), ("GMM", "gmm"))}
  has_posterior = "reconstruct_sampled" in signatures
  return TrainedRun(workdir, config, encode, decode, samplers,
                    reconstruct_sampled if has_posterior else None)


def generated_images(run: TrainedRun, test_images: np.ndarray, seed: int,
                     vae_reconstruction: str = "sampled"
                     ) -> dict[str, np.ndarray]:
  """Images of every Table-1 column the run has, N = len(test_images) each.

  Args:
    run: the trained run.
    test_images: (N, H, W, C) held-out images in [0, 1], N >= 2.
    seed: seed of the density samples, the interpolation pairs and the
      posterior draws.
    vae_reconstruction: "sampled" (REC of a run with a posterior decodes its
      draws, as the authors) or "mean" (every REC decodes E(x)).

  Returns:
    Column -> (N, H, W, C) images in [0, 1], in `COLUMNS` order.
  """
  num = len(test_images)
  codes = _batched(run.encode, test_images)  # (N, d)
  sampled = (vae_reconstruction == "sampled"
             and run.config.model in POSTERIOR_MODELS)
  if sampled and not run.reconstruct_sampled:
    raise EvaluationError(
        f"the export of {run.workdir} has no reconstruct_sampled signature "
        "(written before it existed); retrain the run, or evaluate with "
        "--vae_reconstruction=mean")
  if sampled:
    images = {"REC": np.concatenate([
        run.reconstruct_sampled(test_images[i:i + _BATCH], seed + i)
        for i in range(0, num, _BATCH)])}
  else:
    images = {"REC": _batched(run.decode, codes)}
  for column, sample in run.samplers.items():
    images[column] = _batched(run.decode, sample(num, seed))
  # Random pairs (a, b), a != b, of held-out codes.
  rng = np.random.default_rng(seed)
  first = rng.integers(0, num, num)
  second = (first + rng.integers(1, num, num)) % num
  images["Interp."] = _batched(run.decode,
                               (codes[first] + codes[second]) / 2)
  return {column: images[column] for column in COLUMNS if column in images}


def prd_column(columns) -> str:
  """The column whose PRD is computed: GMM, or N where there is no GMM."""
  return "GMM" if "GMM" in columns else "N"


def column_scores(image_features: np.ndarray,
                  reference_features: np.ndarray, seed: int,
                  with_prd: bool) -> dict:
  """FID, KID (and PRD) of one column's (N, D) features vs the reference.

  FID uses every reference feature; KID the defaults of
  `kid.kernel_inception_distance` (100 subsets of min(1000, N, N_ref) rows
  per side, seeded by `seed`); PRD needs balanced sets, so it uses the first
  min(N, N_ref) of each.

  Returns:
    {"fid": FidResult dict, "kid_mean": float, "kid_std": float} (KID
    unscaled, not x10^3) and, if `with_prd`, "prd": PRDResult dict.
  """
  reference = fid.FeatureStatistics.from_features(reference_features)
  kid_mean, kid_std = kid.kernel_inception_distance(
      image_features, reference_features, seed=seed)
  scores = {
      "fid": fid.fid_from_features(image_features, reference).to_dict(),
      "kid_mean": kid_mean, "kid_std": kid_std}
  if with_prd:
    count = min(len(image_features), len(reference_features))
    scores["prd"] = prd.prd_from_features(
        image_features[:count], reference_features[:count],
        seed=seed).to_dict()
  return scores


def evaluate_run(run: TrainedRun, test_images: np.ndarray,
                 reference_features: np.ndarray,
                 extractor: features_lib.FeatureExtractor,
                 seed: int = 0, protocol: dict | None = None,
                 vae_reconstruction: str = "sampled") -> dict:
  """Table-1 scores of a run, written to its evaluation.json and TensorBoard.

  Args:
    run: the trained run.
    test_images: (N, H, W, C) held-out images in [0, 1], disjoint from the
      reference ones (`rae_tf.evaluation.protocol`); N is the sample count of every
      column.
    reference_features: (N_ref, 2048) features of the test split.
    extractor: Inception feature extractor.
    seed: seed of the samples, the interpolation pairs and PRD's k-means.
    protocol: `rae_tf.evaluation.protocol.describe`, stored as it is.
    vae_reconstruction: see `generated_images`.

  Returns:
    {"columns": {column: {"fid": ..., "kid_mean": ..., "kid_std": ...,
                          ["prd": ...]}}, "reconstruction_mse",
     "num_samples", "num_reference", "seed", "protocol"}.
  """
  if len(test_images) < 2:
    raise EvaluationError(f"need at least 2 test images; got "
                          f"{len(test_images)}")
  images = generated_images(run, test_images, seed, vae_reconstruction)
  columns = {}
  for column, generated in images.items():
    columns[column] = column_scores(extractor(generated), reference_features,
                                    seed, column == prd_column(images))
    scores = columns[column]
    logging.info("%s %s: %s, %s", run.config.run_name, column,
                 fid.FidResult(**scores["fid"]),
                 kid.format_kid(scores["kid_mean"], scores["kid_std"]))
  evaluation = {
      "columns": columns,
      "reconstruction_mse": float(np.mean((images["REC"] - test_images)**2)),
      "num_samples": len(test_images),
      "num_reference": len(reference_features),
      "seed": seed,
      "protocol": protocol,
  }
  files.atomic_write_text(os.path.join(run.workdir, EVALUATION_FILE),
                          json.dumps(evaluation, indent=2, sort_keys=True))
  write_summaries(os.path.join(run.workdir, "tensorboard", "evaluation"),
                  evaluation, step=run.config.epochs)
  return evaluation


def write_summaries(log_dir: str, evaluation: dict, step: int) -> None:
  """FID, KID and PRD scalars of an evaluation: "fid/REC", "kid/REC" etc.

  "kid/<column>" is the KID mean, unscaled (not x10^3).
  """
  writer = tf.summary.create_file_writer(log_dir)
  with writer.as_default():
    for column, scores in evaluation["columns"].items():
      tf.summary.scalar(f"fid/{column}", scores["fid"]["value"], step=step)
      tf.summary.scalar(f"kid/{column}", scores["kid_mean"], step=step)
      if "prd" in scores:
        tf.summary.scalar(f"prd_f8/{column}", scores["prd"]["f_8"],
                          step=step)
        tf.summary.scalar(f"prd_f1_8/{column}", scores["prd"]["f_1_8"],
                          step=step)
    tf.summary.scalar("reconstruction_mse", evaluation["reconstruction_mse"],
                      step=step)
    if evaluation.get("protocol"):
      tf.summary.text("protocol", json.dumps(evaluation["protocol"],
                                             indent=1), step=step)
  writer.close()
