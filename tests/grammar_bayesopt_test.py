"""Bayesian optimisation: EI by hand, a known toy objective, BO summaries."""

import numpy as np
import pytest

from rae_tf.grammar.measurements import bayesopt
from rae_tf.grammar import tasks


def test_expected_improvement_by_hand():
  # At m = best, u = 0: EI = s * phi(0) = s / sqrt(2 pi).
  assert bayesopt.expected_improvement(
      np.array([1.0]), np.array([2.0]), 1.0)[0] == pytest.approx(
          2.0 / np.sqrt(2 * np.pi))
  # With no uncertainty, EI is the plain improvement max(best - m, 0).
  np.testing.assert_allclose(bayesopt.expected_improvement(
      np.array([0.5, 3.0]), np.zeros(2), 1.0), [0.5, 0.0], atol=1e-9)


def bowl(codes):
  """f(z) = ||z - (1.5, -1)||^2, NaN (invalid) where z_0 < -1.5."""
  codes = np.asarray(codes)
  values = np.sum((codes - np.array([1.5, -1.0]))**2, axis=1)
  values[codes[:, 0] < -1.5] = np.nan
  return values, [f"{v:.3f}" for v in values]


def test_batched_bo_improves_a_known_objective():
  rng = np.random.default_rng(0)
  # Starting points far from the minimum: z_0 in [-2, 0], z_1 in [-2, 2].
  codes = np.stack([rng.uniform(-2, 0, 40), rng.uniform(-2, 2, 40)], 1)
  codes = np.concatenate([codes, [[2.0, 2.0]]])  # so the box holds (1.5, -1)
  values, _ = bowl(codes)
  start = np.nanmin(values)
  batches = bayesopt.optimise(bowl, codes, values, iterations=3,
                              batch_size=4, seed=0)
  assert len(batches) == 3
  assert all(b.codes.shape == (4, 2) and len(b.labels) == 4 for b in batches)
  found = np.nanmin(np.concatenate([b.values for b in batches]))
  assert found < 0.3 * start, (start, found)
  # Proposals stay inside the box spanning the codes.
  proposals = np.concatenate([b.codes for b in batches])
  assert np.all(proposals >= codes.min(0) - 1e-9)
  assert np.all(proposals <= codes.max(0) + 1e-9)


def test_the_believer_removes_the_improvement_at_the_chosen_point():
  # Kriging believer: after adding (x, m(x)) as data, EI at x drops to ~0,
  # so the next point of the batch is chosen elsewhere.
  rng = np.random.default_rng(1)
  codes = rng.uniform(-2, 2, size=(30, 2))
  values = np.sin(3 * codes[:, 0]) + codes[:, 1] ** 2
  gp = bayesopt.fit_gp(codes, values, seed=0)
  batch = bayesopt.propose_batch(gp, codes, values, 2, codes.min(0),
                                 codes.max(0), rng)
  before = bayesopt.expected_improvement(
      *gp.predict(batch[:1], return_std=True), values.min())[0]
  believed = float(gp.predict(batch[:1])[0])
  conditioned = bayesopt._condition(  # pylint: disable=protected-access
      gp.kernel, gp.alpha, np.concatenate([codes, batch[:1]]),
      np.append(values, believed))
  after = bayesopt.expected_improvement(
      *conditioned.predict(batch[:1], return_std=True),
      min(values.min(), believed))[0]
  assert before > 0
  assert after < 0.05 * before
  assert not np.allclose(batch[0], batch[1])


def test_too_few_valid_starting_points_are_refused():
  with pytest.raises(ValueError, match="at least 2 valid starting points"):
    bayesopt.optimise(bowl, np.zeros((3, 2)), np.array([1.0, np.nan, np.nan]),
                      iterations=1, batch_size=1, seed=0)


def test_summary_of_proposals_by_hand():
  # Molecules: higher is better, the objective is minus the score.
  task = tasks.TASKS["molecules"]
  strings = ["CCO", None, "CCO", "c1ccccc1", "CCN", "C1CC"]
  values = np.array([-1.0, np.nan, -1.0, -3.0, -2.0, np.nan])
  summary = bayesopt.summarise_proposals(strings, values, task)
  assert summary["proposals"] == 6
  assert summary["valid_share"] == pytest.approx(4 / 6)
  assert summary["average_score"] == pytest.approx((1 + 1 + 3 + 2) / 4)
  assert summary["top3"] == [{"string": "c1ccccc1", "score": 3.0},
                             {"string": "CCN", "score": 2.0},
                             {"string": "CCO", "score": 1.0}]
