"""Expression and molecule scores against values worked out independently."""

import math
import os
import sys

import numpy as np
import pytest

from rae_tf.grammar.measurements import scores

X = np.linspace(-10, 10, 1000)
Y = 1 / 3 + X + np.sin(X * X)


def test_target_expression_scores_zero():
  assert scores.expression_score("1/3+x+sin(x*x)") == 0.0
  assert scores.expression_score("1 / 3 + x + sin( x * x )") == 0.0


def test_x_by_hand():
  # f - y = -(1/3 + sin(x^2)), whose square is at most (4/3)^2 < 1000, so
  # score = log(1 + mean((1/3 + sin(x^2))^2)). As an integral over [-10, 10]:
  # 1/9 + (2/3) S + (1/2)(1 - C) with S = mean sin(x^2) ~ 0.0584 and
  # C = mean cos(2x^2) ~ 0.0421 (Fresnel integrals), i.e. ~ log(1.6289).
  expected = math.log1p(float(np.mean((1 / 3 + np.sin(X ** 2)) ** 2)))
  assert scores.expression_score("x") == pytest.approx(expected, rel=1e-12)
  assert scores.expression_score("x") == pytest.approx(math.log(1.6289),
                                                       abs=2e-3)


def test_usual_precedence_and_the_cap():
  # 3 + x*x is evaluated as 3 + x^2, not (3 + x) * x.
  error = np.minimum((3 + X * X - Y) ** 2, 1000)
  assert scores.expression_score("3+x*x") == pytest.approx(
      math.log1p(error.mean()), rel=1e-12)
  # A constant broadcasts over the points.
  error = np.minimum((2 - Y) ** 2, 1000)
  assert scores.expression_score("2") == pytest.approx(
      math.log1p(error.mean()), rel=1e-12)


def test_invalid_expressions_score_the_worst():
  worst = math.log(1001)
  assert scores.expression_score("sin(") == pytest.approx(worst)
  assert scores.expression_score("x-1") == pytest.approx(worst)
  assert scores.expression_score("") == pytest.approx(worst)


def test_non_finite_points_count_as_the_cap():
  # exp(exp(x)) overflows where exp(x) > log(max float) ~ 709.78, i.e. for
  # x > 6.565; there inf / inf is NaN and counts 1000. Elsewhere f = 1.
  overflow = np.exp(X) > np.log(np.finfo(np.float64).max)
  error = np.where(overflow, 1000, np.minimum((1 - Y) ** 2, 1000))
  assert 0 < overflow.sum() < len(X)
  assert scores.expression_score("exp(exp(x))/exp(exp(x))") == pytest.approx(
      math.log1p(error.mean()), rel=1e-12)
  # exp(exp(exp(x))) is +inf over part of the range: capped, still finite.
  assert scores.expression_score("exp(exp(exp(x)))") < math.log(1001)


def test_benzene_by_hand():
  # Crippen logP: 6 aromatic CH carbons (type C18, 0.1581) and their 6
  # hydrogens (H1, 0.1230): 6 * 0.2811 = 1.6866. SA: 1.0, the floor of the
  # 1..10 scale. No ring larger than 6.
  terms = scores.molecule_terms("c1ccccc1")
  assert terms.logp == pytest.approx(1.6866, abs=1e-4)
  assert terms.sa == pytest.approx(1.0)
  assert terms.ring_penalty == 0
  # (1.6866 - 2.4571) / 1.4343 + (-1 + 3.0526) / 0.8335 + 0.0486 / 0.2860
  assert scores.molecule_score("c1ccccc1") == pytest.approx(
      -0.53720 + 2.46263 + 0.16993, abs=1e-3)


@pytest.mark.parametrize("smiles, penalty", [
    ("CCCCCC", 0), ("C1CCCCC1", 0), ("C1CCCCCC1", 1), ("C1CCCCCCC1", 2),
    ("c1ccc2ccccc2c1", 0),  # naphthalene: two 6-rings, not one 10-cycle
])
def test_ring_penalty(smiles, penalty):
  assert scores.molecule_terms(smiles).ring_penalty == penalty


def test_seven_ring_costs_one_ring_std_more_than_its_six_ring_terms():
  # Cycloheptane vs benzene: the ring term differs by exactly 1 / 0.2860.
  seven, six = scores.molecule_terms("C1CCCCCC1"), scores.molecule_terms(
      "c1ccccc1")
  ring_term = lambda t: t.score - ((t.logp - 2.4570953396190123)
                                   / 1.434324401111988
                                   + (-t.sa + 3.0525811293166134)
                                   / 0.8335207024513095)
  assert ring_term(six) - ring_term(seven) == pytest.approx(
      1 / 0.2860212110245455)


def test_molecule_score_matches_rdkit_entry_points():
  # The same molecule through RDKit's other entry points: Descriptors'
  # MolLogP and the SA scorer imported from the Contrib path.
  from rdkit import Chem, RDConfig  # pylint: disable=g-import-not-at-top
  from rdkit.Chem import Descriptors  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, os.path.join(RDConfig.RDContribDir, "SA_Score"))
  try:
    import sascorer  # pylint: disable=g-import-not-at-top
  finally:
    sys.path.pop(0)
  smiles = "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O"  # ibuprofen
  molecule = Chem.MolFromSmiles(smiles)
  logp, sa = Descriptors.MolLogP(molecule), sascorer.calculateScore(molecule)
  expected = ((logp - 2.4571) / 1.4343 + (-sa + 3.0526) / 0.8335
              + 0.0486 / 0.2860)
  assert scores.molecule_score(smiles) == pytest.approx(expected, abs=1e-3)
  assert 3.0 < logp < 4.0 and 1.0 < sa < 3.0  # a drug: lipophilic, easy


@pytest.mark.parametrize("smiles", ["C1CC", "xyz", "", "C(C)(C)(C)(C)C"])
def test_rejected_molecules_score_none(smiles):
  assert scores.molecule_score(smiles) is None
