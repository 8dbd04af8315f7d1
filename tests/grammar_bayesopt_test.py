"""Bayesian optimisation: log EI, the ARD GP, batches by fantasies, summaries.

Covers rae_tf/grammar/measurements/{acquisition, gp, bayesopt, intervals}.py;
`run_bayesopt` needs a trained decoder and is left to the end-to-end tests.
"""

import numpy as np
import pytest
from scipy import stats

from rae_tf.grammar.measurements import acquisition
from rae_tf.grammar.measurements import bayesopt
from rae_tf.grammar.measurements import gp as gp_lib
from rae_tf.grammar.measurements import intervals

JITTER = 1e-8  # gp._JITTER
# pylint: disable=protected-access
negative_log_likelihood = gp_lib._negative_log_likelihood
Fantasies = acquisition._Fantasies
# pylint: enable=protected-access


def se_kernel(a, b, lengthscales, signal_variance):
  """s^2 exp(-1/2 sum_d (a_d - b_d)^2 / l_d^2), by broadcasting."""
  differences = (a[:, None, :] - b[None, :, :]) / lengthscales  # (N, M, d)
  return signal_variance * np.exp(-0.5 * np.sum(differences ** 2, -1))


def direct_log_ei(mean, std, incumbent):
  """log of s (u Phi(u) + phi(u)), u = (eta - m) / s, as written."""
  u = (incumbent - mean) / std
  with np.errstate(divide="ignore"):
    return np.log(std * (u * stats.norm.cdf(u) + stats.norm.pdf(u)))


def central_difference(function, x, step):
  """(d,) central differences of a scalar function of a (d,) point."""
  x = np.asarray(x, np.float64)
  gradient = np.empty_like(x)
  for i in range(len(x)):
    shift = np.zeros_like(x)
    shift[i] = step
    gradient[i] = (function(x + shift) - function(x - shift)) / (2 * step)
  return gradient


def small_gp(seed=0, n=12):
  """A well-conditioned 2-d GP (noise 0.05 of the standardised targets)."""
  rng = np.random.default_rng(seed)
  inputs = rng.uniform(-1, 1, size=(n, 2))
  targets = 10.0 + 3.0 * np.sin(2 * inputs[:, 0]) + inputs[:, 1]
  return gp_lib.ArdGaussianProcess(inputs, targets, np.array([0.6, 0.9]),
                                   1.5, 0.05)


# ---------------------------------------------------------------- log EI


U_VALUES = [-40.0, -30.0, -10.0, -3.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 3.0,
            10.0]


def test_log_expected_improvement_matches_high_precision_values():
  mpmath = pytest.importorskip("mpmath")
  mpmath.mp.dps = 50
  mean, std = 1.0, 2.0
  incumbents = [mean + u * std for u in U_VALUES]
  value, _, _ = acquisition.log_expected_improvement(
      np.full(len(U_VALUES), mean), np.full(len(U_VALUES), std),
      np.array(incumbents))
  for u, got in zip(U_VALUES, value):
    u_mp = mpmath.mpf(u)
    expected = float(mpmath.log(
        std * (u_mp * mpmath.ncdf(u_mp) + mpmath.npdf(u_mp))))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), u
  # Where the direct formula still works it agrees; at u = -40 phi(u) =
  # e^-800 underflows and it gives -inf, log EI does not.
  direct = direct_log_ei(mean, std, np.array(incumbents))
  np.testing.assert_allclose(value[2:], direct[2:], rtol=1e-10, atol=1e-12)
  assert direct[0] == -np.inf and np.isfinite(value[0])


def test_log_expected_improvement_follows_the_asymptote_for_very_negative_u():
  # For u -> -inf, h(u) = u Phi(u) + phi(u) = phi(u) / u^2 (1 - 3/u^2 +
  # 15/u^4 - ...) (Mills' ratio), so log EI = log s + log phi(u) - 2 log|u|
  # + log(1 - 3/u^2 + 15/u^4), with an error ~ 105/u^6 (3e-8 at u = -40).
  u = np.array([-40.0, -100.0, -1000.0, -1e4])
  std = 0.5
  value, _, _ = acquisition.log_expected_improvement(
      np.zeros(len(u)), np.full(len(u), std), u * std)
  asymptote = (np.log(std) + stats.norm.logpdf(u) - 2 * np.log(-u)
               + np.log1p(-3 / u ** 2 + 15 / u ** 4))
  # The values reach -5e7; compare what is left after the -u^2/2 term.
  np.testing.assert_allclose(value + u ** 2 / 2, asymptote + u ** 2 / 2,
                             atol=1e-7)


def test_log_expected_improvement_stays_accurate_at_u_minus_1e8():
  # u = -1e8, s = 1: h(u) ~ phi(u) / u^2, so log EI + u^2/2 = -1/2 log 2 pi
  # - 2 log 1e8 = -0.9189 - 36.841 = -37.760; d log EI / dm = -Phi/h ~ u
  # = -1e8; d log EI / ds = phi/h ~ u^2 = 1e16.
  u = -1e8
  value, d_mean, d_std = acquisition.log_expected_improvement([0.0], [1.0],
                                                              u)
  # value itself is -5e15 - 37.76, whose float64 spacing is 1.
  assert value[0] == pytest.approx(-u ** 2 / 2 - 37.760, abs=1.0)
  assert d_mean[0] == pytest.approx(-1e8, rel=1e-3)
  assert d_std[0] == pytest.approx(1e16, rel=1e-3)


@pytest.mark.parametrize("u", U_VALUES)
def test_log_expected_improvement_derivatives_match_finite_differences(u):
  mean, std = 0.3, 1.7
  incumbent = mean + u * std
  _, d_mean, d_std = acquisition.log_expected_improvement([mean], [std],
                                                          incumbent)

  def log_ei(x):  # x = (m, s)
    return acquisition.log_expected_improvement([x[0]], [x[1]],
                                                incumbent)[0][0]

  numeric = central_difference(log_ei, [mean, std], 1e-6)
  np.testing.assert_allclose([d_mean[0], d_std[0]], numeric, rtol=1e-6,
                             atol=1e-6)


def test_expected_improvement_by_hand():
  # m = 1, s = 2, eta = 0: u = (0 - 1) / 2 = -0.5; Phi(-0.5) = 0.3085375,
  # phi(-0.5) = exp(-1/8) / sqrt(2 pi) = 0.3520653;
  # EI = 2 (-0.5 * 0.3085375 + 0.3520653) = 2 * 0.1977966 = 0.3955931,
  # log EI = -0.9273691.
  # d log EI / dm = -Phi(u) / EI = -0.3085375 / 0.3955931 = -0.7799366;
  # d log EI / ds = phi(u) / EI = 0.3520653 / 0.3955931 = 0.8899683.
  value, d_mean, d_std = acquisition.log_expected_improvement([1.0], [2.0],
                                                              0.0)
  assert np.exp(value[0]) == pytest.approx(0.3955931, abs=1e-7)
  assert value[0] == pytest.approx(-0.9273691, abs=1e-7)
  assert d_mean[0] == pytest.approx(-0.7799366, abs=1e-7)
  assert d_std[0] == pytest.approx(0.8899683, abs=1e-7)


# --------------------------------------------------------------------- GP


def test_squared_distances_and_initial_lengthscales_by_hand():
  # (0, 0), (1, 0), (0, 1) with l = (1, 2): ||.||^2 / l^2 between the first
  # and the others are 1 and 1/4, between the last two 1 + 1/4.
  points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
  np.testing.assert_allclose(
      gp_lib.squared_distances(points, points, np.array([1.0, 2.0])),
      [[0, 1, 0.25], [1, 0, 1.25], [0.25, 1.25, 0]], atol=1e-12)
  # Unscaled pairwise distances 1, 1, 2: median 1, l^2 = (1 + 1e-3) / 2.
  np.testing.assert_allclose(
      gp_lib.initial_lengthscales(points, np.random.default_rng(0)),
      [np.sqrt(0.5005)] * 2)


def nll_problem():
  rng = np.random.default_rng(3)
  inputs = rng.uniform(-1, 1, size=(15, 3))
  standardised = rng.normal(size=15)
  # log l = log(0.5, 1.2, 3), log s^2 = log 1.3, log sigma^2 = log 0.2
  log_params = np.log([0.5, 1.2, 3.0, 1.3, 0.2])
  return log_params, inputs, standardised


def test_negative_log_likelihood_equals_the_gaussian_density():
  log_params, inputs, standardised = nll_problem()
  value, _ = negative_log_likelihood(log_params, inputs, standardised)
  covariance = (se_kernel(inputs, inputs, np.array([0.5, 1.2, 3.0]), 1.3)
                + (0.2 + JITTER) * np.eye(15))
  expected = -stats.multivariate_normal.logpdf(standardised,
                                               np.zeros(15), covariance)
  assert value == pytest.approx(expected, rel=1e-10)


def test_negative_log_likelihood_gradient_matches_finite_differences():
  log_params, inputs, standardised = nll_problem()
  _, gradient = negative_log_likelihood(log_params, inputs, standardised)
  numeric = central_difference(
      lambda p: negative_log_likelihood(p, inputs, standardised)[0],
      log_params, 1e-6)
  np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-7)


def test_fit_gives_an_ignored_dimension_a_long_length_scale():
  rng = np.random.default_rng(0)
  inputs = rng.uniform(-2, 2, size=(150, 3))
  targets = np.sin(2 * inputs[:, 0]) + inputs[:, 1] ** 2  # x_2 ignored
  gp = gp_lib.fit(inputs, targets, np.random.default_rng(1))
  # Seen: l = (1.9, 4.6, 1900), the last at its upper bound.
  assert gp.lengthscales[2] > 10 * gp.lengthscales[0]
  assert gp.lengthscales[2] > 10 * gp.lengthscales[1]
  # The fitted GP interpolates: held-out points are predicted closely.
  held_out = rng.uniform(-1.5, 1.5, size=(20, 3))
  mean, _ = gp.predict(held_out)
  np.testing.assert_allclose(
      mean, np.sin(2 * held_out[:, 0]) + held_out[:, 1] ** 2, atol=0.05)


def test_posterior_equals_the_textbook_formulas():
  gp = small_gp()
  points = np.random.default_rng(5).uniform(-1.5, 1.5, size=(7, 2))
  # y = (t - mean t) / std t (ddof 0); K = K_f + (sigma^2 + jitter) I;
  # m = mean t + std t k*^T K^-1 y; v = std t^2 (s^2 - k*^T K^-1 k*).
  offset, scale = gp.targets.mean(), gp.targets.std()
  standardised = (gp.targets - offset) / scale
  inverse = np.linalg.inv(
      se_kernel(gp.inputs, gp.inputs, gp.lengthscales, 1.5)
      + (0.05 + JITTER) * np.eye(12))
  cross = se_kernel(gp.inputs, points, gp.lengthscales, 1.5)  # (n, m)
  mean = offset + scale * cross.T @ inverse @ standardised
  variance = scale ** 2 * (1.5 - np.sum(cross * (inverse @ cross), 0))
  got_mean, got_variance = gp.predict(points)
  np.testing.assert_allclose(got_mean, mean, rtol=1e-10)
  np.testing.assert_allclose(got_variance, variance, rtol=1e-8)
  np.testing.assert_allclose(gp.mean(points), mean, rtol=1e-10)
  for point, m, v in zip(points, mean, variance):
    terms = gp.predict_with_gradient(point)
    assert terms["mean"] == pytest.approx(m, rel=1e-10)
    assert terms["variance"] == pytest.approx(v, rel=1e-8)
  # Far from the data: the prior, s^2 in target units.
  _, far = gp.predict(np.array([[50.0, 50.0]]))
  assert far[0] == pytest.approx(1.5 * scale ** 2, rel=1e-12)


def test_predict_with_gradient_matches_finite_differences():
  gp = small_gp()
  for point in np.random.default_rng(6).uniform(-1, 1, size=(4, 2)):
    terms = gp.predict_with_gradient(point)
    np.testing.assert_allclose(
        terms["d_mean"],
        central_difference(lambda z: gp.predict(z[None])[0][0], point,
                           1e-5), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        terms["d_variance"],
        central_difference(lambda z: gp.predict(z[None])[1][0], point,
                           1e-5), rtol=1e-6, atol=1e-8)


def test_predict_with_gradient_agrees_with_predict_when_nearly_noise_free():
  # The hyperparameters `fit` reaches on a smooth noise-free target (seen:
  # s^2 = 100 and sigma^2 = 1e-6, both at their bounds); cond K ~ 2e9. The
  # posterior variance is ~2e-7 (standardised) and `predict` gets it to
  # ~1e-8 relative (checked with mpmath at 60 digits); seen from
  # predict_with_gradient: 0 at 0.31 and 0.777, 4x too large at 0.5.
  inputs = np.linspace(0, 1, 21)[:, None]
  gp = gp_lib.ArdGaussianProcess(inputs, (inputs[:, 0] - 0.3) ** 2,
                                 np.array([1.2]), 100.0, 1e-6)
  for z in [0.31, 0.5, 0.777]:
    _, variance = gp.predict(np.array([[z]]))
    assert gp.predict_with_gradient(np.array([z]))["variance"] == (
        pytest.approx(variance[0], rel=1e-3)), z


# ------------------------------------------------------------ acquisition


def test_fantasy_variance_equals_conditioning_on_the_chosen_points():
  # v_F(z) = s(z, z) - s(z, F) (s(F, F) + eps I)^-1 s(F, z) is the variance
  # of the GP conditioned on X (noise sigma^2 + jitter) and F (noise eps =
  # 1e-6 s^2, the fantasies' jitter): the joint K over [X; F], in one go.
  fantasy_jitter = 1e-6 * 1.5
  gp = small_gp()
  rng = np.random.default_rng(7)
  chosen = rng.uniform(-1, 1, size=(3, 2))
  grid = rng.uniform(-1, 1, size=(50, 2))
  fantasies = Fantasies(gp, grid, gp.whitened(grid))
  for point in chosen:
    fantasies.add(point)
  both = np.concatenate([gp.inputs, chosen])
  joint = (se_kernel(both, both, gp.lengthscales, 1.5)
           + np.diag([0.05 + JITTER] * 12 + [fantasy_jitter] * 3))

  def conditioned_variance(z):
    cross = se_kernel(both, z[None], gp.lengthscales, 1.5)[:, 0]
    return 1.5 - cross @ np.linalg.solve(joint, cross)

  def standardised_variance(z):
    return gp.predict(z[None])[1][0] / gp.scale ** 2

  expected = [standardised_variance(z) - conditioned_variance(z)
              for z in grid]
  np.testing.assert_allclose(fantasies.grid_reduction(), expected,
                             rtol=1e-6, atol=1e-10)
  for z in grid[:5]:
    reduction, gradient = fantasies.reduction(gp.predict_with_gradient(z), z)
    assert reduction == pytest.approx(
        standardised_variance(z) - conditioned_variance(z), rel=1e-6)
    np.testing.assert_allclose(
        gradient, central_difference(
            lambda p: fantasies.reduction(gp.predict_with_gradient(p), p)[0],
            z, 1e-5), rtol=1e-5, atol=1e-8)
  # At a chosen point nothing is left but the jitter.
  for z in chosen:
    assert conditioned_variance(z) < 2 * fantasy_jitter
    reduction, _ = fantasies.reduction(gp.predict_with_gradient(z), z)
    assert reduction == pytest.approx(standardised_variance(z),
                                      abs=2 * fantasy_jitter)


def two_d_problem():
  rng = np.random.default_rng(0)
  inputs = rng.uniform(-1, 1, size=(30, 2))
  targets = (np.sin(3 * inputs[:, 0]) + inputs[:, 1] ** 2
             + 0.1 * rng.normal(size=30))
  # Seen: l = (0.66, 1.12), s^2 = 2.15, sigma^2 = 0.0104.
  return gp_lib.fit(inputs, targets, np.random.default_rng(1))


def test_batch_is_in_the_box_distinct_and_greedy_in_fantasy_ei():
  gp = two_d_problem()
  lower, upper = gp.inputs.min(0), gp.inputs.max(0)
  batch = acquisition.propose_batch(gp, 4, lower, upper,
                                    np.random.default_rng(2), grid_size=2000)
  assert batch.shape == (4, 2)
  assert np.all((batch >= lower) & (batch <= upper))
  # Without the fantasies all four would be the same point (same grid,
  # same start). Seen: the closest two 0.0096 apart.
  distances = np.linalg.norm(batch[:, None] - batch[None], axis=-1)
  assert distances[np.triu_indices(4, 1)].min() > 1e-3
  # Each point maximises log EI under the fantasies of the earlier ones:
  # no point of a fine 200 x 200 grid of the box does better.
  axes = [np.linspace(lower[d], upper[d], 200) for d in range(2)]
  fine = np.stack(np.meshgrid(*axes), -1).reshape(-1, 2)
  fine_mean, fine_variance = gp.predict(fine)
  incumbent = acquisition.lowest_mean(gp, fine, fine_mean, lower, upper, 50)
  assert fine_mean.min() - 1e-3 < incumbent <= fine_mean.min()
  fantasies = Fantasies(gp, fine, gp.whitened(fine))
  scale2 = gp.scale ** 2
  for point in batch:
    variance = np.maximum(
        fine_variance - fantasies.grid_reduction() * scale2, 1e-12)
    fine_log_ei, _, _ = acquisition.log_expected_improvement(
        fine_mean, np.sqrt(variance), incumbent)
    terms = gp.predict_with_gradient(point)
    reduction, _ = fantasies.reduction(terms, point)
    chosen_log_ei, _, _ = acquisition.log_expected_improvement(
        [terms["mean"]],
        [np.sqrt(max(terms["variance"] - reduction * scale2, 1e-12))],
        incumbent)
    assert chosen_log_ei[0] >= fine_log_ei.max() - 1e-3
    fantasies.add(point)


def test_first_proposal_is_near_the_minimum_when_the_box_is_explored():
  # 15 noisy points over [0, 1] of 4 (x - 0.3)^2: the variance is low
  # everywhere, EI is highest at the mean's minimum (seen: 0.3056; the
  # first proposal 0.3029).
  rng = np.random.default_rng(3)
  inputs = np.sort(rng.uniform(0, 1, 15))[:, None]
  targets = 4 * (inputs[:, 0] - 0.3) ** 2 + 0.05 * rng.normal(size=15)
  gp = gp_lib.fit(inputs, targets, np.random.default_rng(1))
  batch = acquisition.propose_batch(gp, 2, np.array([0.0]), np.array([1.0]),
                                    np.random.default_rng(2), grid_size=1000)
  fine = np.linspace(0, 1, 10001)[:, None]
  mean, _ = gp.predict(fine)
  assert abs(batch[0, 0] - fine[np.argmin(mean), 0]) < 0.02
  assert abs(batch[0, 0] - 0.3) < 0.05


def test_first_proposal_explores_when_the_data_cover_part_of_the_box():
  # Data on [0, 0.4] only, the box [0, 1]: the variance grows towards 1 and
  # EI with it (seen: 1.0 first, then 0.0 and 0.75).
  inputs = np.linspace(0, 0.4, 8)[:, None]
  targets = (np.sin(5 * inputs[:, 0])
             + 0.05 * np.random.default_rng(4).normal(size=8))
  gp = gp_lib.fit(inputs, targets, np.random.default_rng(1))
  batch = acquisition.propose_batch(gp, 2, np.array([0.0]), np.array([1.0]),
                                    np.random.default_rng(2), grid_size=1000)
  assert batch[0, 0] > 0.8
  _, variance = gp.predict(np.array([[batch[0, 0]], [0.2]]))
  assert variance[0] > 100 * variance[1]


# ---------------------------------------------------------------- trials

CENTRE = np.array([1.5, -1.0])


def bowl(codes, invalid=lambda codes: codes[:, 0] > 1.5):
  """f(z) = ||z - (1.5, -1)||^2, NaN (invalid) where z_0 > 1.5."""
  values = np.sum((codes - CENTRE) ** 2, axis=1)
  values[invalid(codes)] = np.nan
  return values, [{"string": f"z={code.round(3).tolist()}"}
                  for code in codes]


def starting_codes():
  rng = np.random.default_rng(0)
  # Away from the minimum: z_0 in [-2, 0], z_1 in [-1, 2], plus two corners
  # so that the box [-2, 2]^2 holds (1.5, -1) and the invalid z_0 > 1.5.
  codes = np.concatenate([
      np.stack([rng.uniform(-2, 0, 10), rng.uniform(-1, 2, 10)], 1),
      [[2.0, 2.0], [-2.0, -2.0]]])
  return codes, np.sum((codes - CENTRE) ** 2, axis=1)  # best: 3.08


def test_run_trial_improves_a_known_objective(monkeypatch):
  codes, values = starting_codes()
  worst = 50.0
  seen = []  # the (inputs, targets) of each GP fit
  fit = gp_lib.fit

  def recording_fit(inputs, targets, *args, **kwargs):
    seen.append((inputs.copy(), targets.copy()))
    return fit(inputs, targets, *args, **kwargs)

  monkeypatch.setattr(gp_lib, "fit", recording_fit)
  proposals = bayesopt.run_trial(bowl, codes, values, iterations=3,
                                 batch_size=4, worst_value=worst,
                                 rng=np.random.default_rng(1))
  assert [p["iteration"] for p in proposals] == [1] * 4 + [2] * 4 + [3] * 4
  batch = np.array([p["code"] for p in proposals])  # (12, 2)
  assert np.all((batch >= -2.0) & (batch <= 2.0))
  # Seen: round 1 lands near (1.3, -1), round 2 just past z_0 = 1.5.
  invalid = batch[:, 0] > 1.5
  assert invalid.any() and not invalid.all()
  for proposal, code, bad in zip(proposals, batch, invalid):
    assert proposal["string"] == f"z={np.round(code, 3).tolist()}"
    if bad:
      assert proposal["objective"] is None
    else:
      assert proposal["objective"] == pytest.approx(
          np.sum((code - CENTRE) ** 2))
  found = min(p["objective"] for p in proposals if p["objective"] is not None)
  assert found < 0.1 * values.min(), (values.min(), found)  # seen: 0.027
  # The GP of round 3 saw rounds 1 and 2, the invalid ones at worst_value.
  assert len(seen) == 3
  inputs, targets = seen[2]
  np.testing.assert_allclose(inputs, np.concatenate([codes, batch[:8]]))
  np.testing.assert_allclose(targets[:12], values)
  np.testing.assert_allclose(
      targets[12:], np.where(invalid[:8], worst,
                             np.sum((batch[:8] - CENTRE) ** 2, axis=1)))


def test_run_trial_does_not_repeat_a_point_within_a_batch():
  # All valid. Round 2's GP has s^2 = 100, sigma^2 = 2e-6 (cond K ~ 7e8);
  # seen: its 3rd and 4th proposals are the same code (1.5211, -1.0696).
  codes, values = starting_codes()
  proposals = bayesopt.run_trial(
      lambda z: bowl(z, invalid=lambda z: np.zeros(len(z), bool)), codes,
      values, iterations=2, batch_size=4, worst_value=50.0,
      rng=np.random.default_rng(1))
  for iteration in (1, 2):
    batch = np.array([p["code"] for p in proposals
                      if p["iteration"] == iteration])
    distances = np.linalg.norm(batch[:, None] - batch[None], axis=-1)
    assert distances[np.triu_indices(4, 1)].min() > 1e-6, iteration


def trial(scores, first_letter):
  return [{"score": s, "string": chr(ord(first_letter) + i)}
          for i, s in enumerate(scores)]


def test_summarise_trials_by_hand():
  # Trial 0: scores 1, -, 3, 2 (strings a-d): valid 3/4, average 2.
  # Trial 1: scores -, 5, -, 0.5 (strings e-h): valid 2/4, average 2.75.
  trials = [trial([1.0, None, 3.0, 2.0], "a"),
            trial([None, 5.0, None, 0.5], "e")]
  summary = bayesopt.summarise_trials(trials, 4, higher_is_better=True)
  # Two values a, b: s = |a - b| / sqrt 2, half = t_{0.975, 1} s / sqrt 2
  # = 12.7062 |a - b| / 2. Valid share: mean 0.625, half = 12.7062 * 0.125
  # = 1.58828; average score: mean 2.375, half = 12.7062 * 0.375 = 4.76483.
  share = summary["valid_share"]
  assert share["n"] == 2 and share["mean"] == pytest.approx(0.625)
  assert share["low"] == pytest.approx(0.625 - 1.58828, abs=1e-5)
  assert share["high"] == pytest.approx(0.625 + 1.58828, abs=1e-5)
  average = summary["average_score"]
  assert average["n"] == 2 and average["mean"] == pytest.approx(2.375)
  assert average["high"] - average["mean"] == pytest.approx(4.76483, abs=1e-5)
  assert [t["valid_share"] for t in summary["per_trial"]] == [0.75, 0.5]
  assert [t["average_score"] for t in summary["per_trial"]] == [2.0, 2.75]
  # One best per trial, best first: trial 1's 5 (f), then trial 0's 3 (c),
  # not trial 0's 2 although it beats trial 1's other scores.
  assert summary["top3"] == [{"trial": 1, "string": "f", "score": 5.0},
                             {"trial": 0, "string": "c", "score": 3.0}]
  # Lower is better: the bests are 1 (a) and 0.5 (h), 0.5 first.
  lower = bayesopt.summarise_trials(trials, 4, higher_is_better=False)
  assert lower["top3"] == [{"trial": 1, "string": "h", "score": 0.5},
                           {"trial": 0, "string": "a", "score": 1.0}]
  assert lower["valid_share"] == share


def test_summarise_trials_with_an_empty_trial_and_more_than_three():
  trials = [trial([4.0, 1.0], "a"), trial([None, None], "c"),
            trial([2.0, None], "e"), trial([None, 7.0], "g"),
            trial([3.0, 3.5], "i")]
  summary = bayesopt.summarise_trials(trials, 2, higher_is_better=True)
  # Shares 1, 0, 0.5, 0.5, 1: mean 0.6 over all 5 trials; the averages
  # 2.5, 2, 7, 3.25 over the 4 with a valid proposal: 14.75 / 4 = 3.6875.
  assert summary["valid_share"]["n"] == 5
  assert summary["valid_share"]["mean"] == pytest.approx(0.6)
  assert summary["average_score"]["n"] == 4
  assert summary["average_score"]["mean"] == pytest.approx(3.6875)
  assert summary["per_trial"][1]["best"] is None
  # Bests 4 (a), 7 (h), 2 (e), 3.5 (j): the top three 7, 4, 3.5.
  assert summary["top3"] == [{"trial": 3, "string": "h", "score": 7.0},
                             {"trial": 0, "string": "a", "score": 4.0},
                             {"trial": 4, "string": "j", "score": 3.5}]


# -------------------------------------------------------------- intervals


def test_mean_interval_by_hand():
  assert intervals.mean_interval([]) is None
  assert intervals.mean_interval([None, None]) is None
  assert intervals.mean_interval([2.5]) == {"mean": 2.5, "low": None,
                                            "high": None, "n": 1}
  # 1, 2, 6: mean 3, deviations -2, -1, 3, s^2 = (4 + 1 + 9) / 2 = 7,
  # s / sqrt 3 = sqrt(7/3) = 1.527525; t_{0.975, 2} = 4.302653:
  # half = 6.572411. At 90%, t_{0.95, 2} = 2.919986: half = 4.460352.
  interval = intervals.mean_interval([1.0, None, 2.0, 6.0])
  assert interval["n"] == 3 and interval["mean"] == pytest.approx(3.0)
  assert interval["low"] == pytest.approx(3.0 - 6.572411, abs=1e-6)
  assert interval["high"] == pytest.approx(3.0 + 6.572411, abs=1e-6)
  narrower = intervals.mean_interval([1.0, 2.0, 6.0], confidence=0.9)
  assert narrower["high"] == pytest.approx(3.0 + 4.460352, abs=1e-6)
