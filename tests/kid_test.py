"""Tests of rae_tf.evaluation.kid: the Kernel Inception Distance, with golden values."""

import itertools

import numpy as np
import pytest

from rae_tf.evaluation import kid


@pytest.fixture(params=["full_kernel", "subset_kernels"])
def kernel_path(request, monkeypatch):
  """Runs a test with the precomputed kernel of all rows, then without.

  `kid` precomputes it only where that is cheaper, so the tests using this
  fixture size their inputs for that; the fixture checks the path taken:
  one kernel per KID with it, three per subset without.
  """
  kid_calls, kernel_calls = [], []
  distance, kernel = kid.kernel_inception_distance, kid.polynomial_kernel
  monkeypatch.setattr(
      kid, "kernel_inception_distance",
      lambda *args, **kwargs: kid_calls.append(1) or distance(*args, **kwargs))
  monkeypatch.setattr(
      kid, "polynomial_kernel",
      lambda x, y: kernel_calls.append(1) or kernel(x, y))
  if request.param == "subset_kernels":
    monkeypatch.setattr(kid, "_FULL_KERNEL_MAX_ROWS", 0)
  yield request.param
  assert kid_calls
  if request.param == "full_kernel":
    assert len(kernel_calls) == len(kid_calls)
  else:
    assert len(kernel_calls) >= 3 * len(kid_calls)


def test_kid_of_one_dimensional_features_worked_by_hand():
  # D = 1, k(x, y) = (x y + 1)^3; X = {0, 1}, Y = {1, 2}, m = 2.
  # K_XX off the diagonal: k(0, 1) = 1, twice: 2 / (2 * 1) = 1.
  # K_YY off the diagonal: k(1, 2) = 27, twice: 54 / 2 = 27.
  # K_XY: k(0, 1) = 1, k(0, 2) = 1, k(1, 1) = 8, k(1, 2) = 27; mean 37 / 4.
  # MMD^2_u = 1 + 27 - 2 * 37 / 4 = 9.5. The only subset is the full set.
  mean, std = kid.kernel_inception_distance(
      np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]]), num_subsets=1)
  assert mean == pytest.approx(9.5, abs=1e-12)
  assert std == 0.0


def test_kid_of_two_dimensional_features_worked_by_hand_is_negative():
  # D = 2, k(x, y) = (x^T y / 2 + 1)^3; X = {e_1, e_2}, Y = {(1, 1), -(1, 1)}.
  # K_XX off the diagonal: k(e_1, e_2) = (0 + 1)^3 = 1, twice: 2 / 2 = 1.
  # K_YY off the diagonal: (-2 / 2 + 1)^3 = 0.
  # K_XY: e_i^T (1, 1) = 1 -> 1.5^3 = 3.375; e_i^T -(1, 1) = -1 -> 0.5^3 =
  # 0.125; sum 2 (3.375 + 0.125) = 7, mean 7 / 4 = 1.75.
  # MMD^2_u = 1 + 0 - 2 * 1.75 = -2.5: unbiased, so it can be below 0.
  # Three subsets of both rows are permutations of the same sets.
  mean, std = kid.kernel_inception_distance(
      np.eye(2), np.array([[1.0, 1.0], [-1.0, -1.0]]), num_subsets=3)
  assert mean == pytest.approx(-2.5, abs=1e-12)
  assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_of_equal_distributions_is_near_zero(kernel_path):
  # Two independent draws of N(0, I) vs a draw of N(0.5 1, I), 2000 x 16,
  # subsets of 1000. KID is unbiased, not 0 on a finite sample: here the
  # subset estimates of equal distributions spread by ~0.002 (their std)
  # and their mean is 0.0024, while the shifted pair gives 0.97. The bound
  # 0.01 is 4 of those spreads and a hundredth of the shifted value.
  rng = np.random.default_rng(0)
  first = rng.normal(size=(2000, 16))
  second = rng.normal(size=(2000, 16))
  shifted = rng.normal(size=(2000, 16)) + 0.5
  same_mean, same_std = kid.kernel_inception_distance(first, second,
                                                      num_subsets=20)
  shift_mean, shift_std = kid.kernel_inception_distance(first, shifted,
                                                        num_subsets=20)
  assert abs(same_mean) < 0.01
  assert 0.0 < same_std < 0.01
  assert shift_mean > 0.9 and shift_mean > 20 * shift_std


def _loop_mmd2(x, y):
  """MMD^2_u of two lists of m vectors, one kernel evaluation per pair."""
  dim = len(x[0])

  def kernel(u, v):
    return (sum(p * q for p, q in zip(u, v)) / dim + 1.0)**3

  m = len(x)
  within_x = sum(kernel(x[i], x[j])
                 for i, j in itertools.permutations(range(m), 2))
  within_y = sum(kernel(y[i], y[j])
                 for i, j in itertools.permutations(range(m), 2))
  across = sum(kernel(x[i], y[j])
               for i, j in itertools.product(range(m), repeat=2))
  return (within_x / (m * (m - 1)) + within_y / (m * (m - 1)) -
          2.0 * across / (m * m))


def _loop_kid(features_a, features_b, num_subsets, subset_size, seed):
  """The subsets drawn as torch-fidelity draws them, then `_loop_mmd2`."""
  rng = np.random.RandomState(seed)
  m = min(subset_size, len(features_a), len(features_b))
  estimates = []
  for _ in range(num_subsets):
    rows_a = rng.choice(len(features_a), m, replace=False)
    rows_b = rng.choice(len(features_b), m, replace=False)
    estimates.append(_loop_mmd2([list(features_a[i]) for i in rows_a],
                                [list(features_b[i]) for i in rows_b]))
  mean = sum(estimates) / num_subsets
  std = (sum((e - mean)**2 for e in estimates) / num_subsets)**0.5
  return mean, std


def test_kid_of_full_sets_equals_a_loop_over_pairs(kernel_path):
  rng = np.random.default_rng(1)
  features_a = rng.normal(size=(30, 5))
  features_b = 1.3 * rng.normal(size=(30, 5)) + 0.2
  expected = _loop_mmd2(list(map(list, features_a)),
                        list(map(list, features_b)))
  mean, std = kid.kernel_inception_distance(features_a, features_b,
                                            num_subsets=3, subset_size=50)
  assert mean == pytest.approx(expected, rel=1e-10)
  assert std == pytest.approx(0.0, abs=1e-10 * abs(expected))


def test_kid_of_random_subsets_equals_a_loop_over_pairs(kernel_path):
  # Unequal sizes and subsets of 10: the draws, their mean and their std.
  # 30 subsets, so that the kernel of all 70 rows is the cheaper path.
  rng = np.random.default_rng(2)
  features_a = rng.normal(size=(30, 5))
  features_b = rng.normal(size=(40, 5)) + 0.3
  expected_mean, expected_std = _loop_kid(features_a, features_b,
                                          num_subsets=30, subset_size=10,
                                          seed=7)
  mean, std = kid.kernel_inception_distance(features_a, features_b,
                                            num_subsets=30, subset_size=10,
                                            seed=7)
  assert mean == pytest.approx(expected_mean, rel=1e-10)
  assert std == pytest.approx(expected_std, rel=1e-10)
  assert std > 0.0


def test_kid_needs_two_rows_per_side():
  two = np.zeros((2, 3))
  with pytest.raises(ValueError,
                     match="at least 2 images per side; got 1 and 2$"):
    kid.kernel_inception_distance(np.zeros((1, 3)), two)
  with pytest.raises(ValueError, match="got 2 and 0$"):
    kid.kernel_inception_distance(two, np.zeros((0, 3)))
  # Two rows each are enough, and give a number.
  assert np.isfinite(kid.kernel_inception_distance(two, two + 1.0)).all()


def test_kid_rejects_mismatched_or_non_finite_features():
  with pytest.raises(ValueError, match=r"one D; got shapes \(4, 5\) and "
                     r"\(4, 3\)$"):
    kid.kernel_inception_distance(np.zeros((4, 5)), np.zeros((4, 3)))
  with pytest.raises(ValueError, match=r"got shapes \(4,\) and \(4, 1\)"):
    kid.kernel_inception_distance(np.zeros(4), np.zeros((4, 1)))
  bad = np.zeros((4, 3))
  bad[1, 2] = np.nan
  with pytest.raises(ValueError, match="features_b has 1 NaN or infinite"):
    kid.kernel_inception_distance(np.zeros((4, 3)), bad)
  with pytest.raises(ValueError, match="subset_size >= 2; got 100 and 1$"):
    kid.kernel_inception_distance(np.zeros((4, 3)), np.ones((4, 3)),
                                  subset_size=1)


def test_kid_depends_on_the_seed_only():
  rng = np.random.default_rng(3)
  features_a = rng.normal(size=(50, 4))
  features_b = rng.normal(size=(60, 4))
  first = kid.kernel_inception_distance(features_a, features_b,
                                        num_subsets=5, subset_size=20, seed=4)
  assert kid.kernel_inception_distance(
      features_a, features_b, num_subsets=5, subset_size=20, seed=4) == first
  assert kid.kernel_inception_distance(
      features_a, features_b, num_subsets=5, subset_size=20, seed=5) != first


def test_format_kid_is_times_ten_to_the_third_with_its_counts():
  assert kid.format_kid(0.01234, 0.00056) == "KID 12.34 ± 0.56 (×10³)"
  assert kid.format_kid(-0.0001, 0.002, n=500, n_reference=1000) == (
      "KID -0.10 ± 2.00 (×10³, N=500 vs 1000 reference)")
