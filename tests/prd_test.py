"""Tests of rae_tf.evaluation.prd: the curve formula by hand, then clustering behaviour."""

import numpy as np
import pytest

from rae_tf.evaluation import prd


def test_prd_curve_worked_example():
  # p_ref = (1/2, 1/2, 0), p_eval = (0, 1/2, 1/2): they share the middle bin.
  # precision(l) = min(l/2, 0) + min(l/2, 1/2) + min(0, 1/2) = min(l/2, 1/2)
  # recall(l) = precision(l) / l = min(1/2, 1/(2 l)).
  # 3 angles: eps, pi/4, pi/2 - eps -> slopes ~0, 1, ~inf:
  # precision ~ (0, 1/2, 1/2), recall ~ (1/2, 1/2, 0).
  ref_dist = np.array([0.5, 0.5, 0.0])
  eval_dist = np.array([0.0, 0.5, 0.5])
  precision, recall = prd.prd_curve(eval_dist, ref_dist, num_angles=3)
  np.testing.assert_allclose(precision, [0.0, 0.5, 0.5], atol=1e-9)
  np.testing.assert_allclose(recall, [0.5, 0.5, 0.0], atol=1e-9)
  # At every one of the 1001 slopes, the closed forms above.
  precision, recall = prd.prd_curve(eval_dist, ref_dist)
  slopes = np.tan(np.linspace(1e-10, np.pi / 2 - 1e-10, 1001))
  np.testing.assert_allclose(precision, np.minimum(slopes / 2, 0.5))
  np.testing.assert_allclose(recall, np.minimum(0.5, 0.5 / slopes))
  # F_beta(1/2, 1/2) = 1/2 for every beta, and no point of the curve beats
  # it (both coordinates are at most 1/2), so (F_8, F_1/8) = (1/2, 1/2).
  assert prd.max_f_beta_pair(precision, recall) == pytest.approx((0.5, 0.5),
                                                                 abs=1e-6)


def test_mode_dropping_keeps_precision_and_loses_recall():
  # p_ref = (1/2, 1/2), p_eval = (1, 0): every generated sample is realistic
  # but half the data is missed. At l = 2: precision = min(1, 1) + 0 = 1,
  # recall = 1/2, so F_1/8 = (1 + 1/64) * 1/2 / (1/64 + 1/2) = 0.985 and
  # F_8 = 65 * 1/2 / (64 + 1/2) = 0.504 (the maxima over the curve).
  precision, recall = prd.prd_curve(np.array([1.0, 0.0]),
                                    np.array([0.5, 0.5]))
  f_8, f_1_8 = prd.max_f_beta_pair(precision, recall)
  assert f_8 == pytest.approx(0.504, abs=1e-3)
  assert f_1_8 == pytest.approx(0.985, abs=1e-3)


def _blobs(centres, n, rng):
  """n points around each centre (rows of `centres`), unit-free spread."""
  return np.concatenate([c + 0.1 * rng.normal(size=(n, len(c)))
                         for c in centres])


def test_identical_distributions_score_near_one():
  rng = np.random.default_rng(0)
  features = _blobs(5 * rng.normal(size=(4, 8)), 50, rng)  # (200, 8)
  result = prd.prd_from_features(features, features.copy(), num_runs=3)
  assert result.f_8 > 0.99 and result.f_1_8 > 0.99
  assert (result.n, result.n_reference) == (200, 200)
  assert result.precision.shape == result.recall.shape == (1001,)


def test_disjoint_distributions_score_near_zero():
  rng = np.random.default_rng(1)
  reference = _blobs(rng.normal(size=(2, 8)), 100, rng)
  evaluated = _blobs(100 + rng.normal(size=(2, 8)), 100, rng)
  result = prd.prd_from_features(evaluated, reference, num_runs=3)
  assert result.f_8 < 0.01 and result.f_1_8 < 0.01


def test_dropped_mode_in_features():
  # Reference: two far-apart blobs; evaluated: all samples in the first.
  rng = np.random.default_rng(2)
  centres = np.stack([np.zeros(8), np.full(8, 20.0)])
  reference = _blobs(centres, 100, rng)
  evaluated = _blobs(centres[:1], 200, rng)
  result = prd.prd_from_features(evaluated, reference, num_runs=3)
  assert result.f_1_8 > 0.9  # precision-weighted: realistic samples
  assert result.f_8 < 0.6  # recall-weighted: half the data missed
  assert result.to_dict() == {"f_8": result.f_8, "f_1_8": result.f_1_8,
                              "n": 200, "n_reference": 200}


def test_rejects_unbalanced_or_too_small_sets():
  with pytest.raises(ValueError, match=r"\(30, 4\) and \(40, 4\)"):
    prd.prd_from_features(np.zeros((30, 4)), np.zeros((40, 4)))
  with pytest.raises(ValueError, match="num_clusters=20"):
    prd.prd_from_features(np.zeros((10, 4)), np.zeros((10, 4)))
  with pytest.raises(ValueError, match="sum to 1"):
    prd.prd_curve(np.array([2.0, 0.0]), np.array([1.0, 1.0]))
