"""MOSES molecule metrics on hand-made SMILES lists, worked by hand."""

import json
import math

import numpy as np
import pytest
from rdkit import Chem
from rdkit import DataStructs
from rdkit.Chem import Descriptors
from rdkit.Chem import rdFingerprintGenerator

from rae_tf.grammar.languages import datasets
from rae_tf.grammar.measurements import molecule_metrics
from rae_tf.grammar.measurements import scores


def canonical_list(smiles):
  return [molecule_metrics.canonical(s) for s in smiles]


def fingerprints_of(*smiles):
  return molecule_metrics.morgan_fingerprints(
      [Chem.MolFromSmiles(s) for s in smiles])


def test_valid_share_by_hand():
  # "C1CC" leaves a ring open and None is an unfinished decoding: 2 of 4.
  assert molecule_metrics.fraction_valid(
      ["CCO", "C1CC", None, "c1ccccc1"]) == 2 / 4
  # The empty string is no molecule (MOSES's get_mol): 1 of 2.
  assert molecule_metrics.fraction_valid(["", "C"]) == 1 / 2
  with pytest.raises(ValueError, match="at least one sample; got none"):
    molecule_metrics.fraction_valid([])


def test_canonical_smiles_identify_the_same_molecule():
  assert molecule_metrics.canonical("OCC") == "CCO"
  assert molecule_metrics.canonical("C1=CC=CC=C1") == "c1ccccc1"  # Kekule
  assert molecule_metrics.canonical("C1CC") is None
  assert molecule_metrics.canonical(None) is None


def test_unique_share_by_hand():
  # CCO and OCC are one molecule (ethanol): 2 distinct of 3.
  valid = canonical_list(["CCO", "OCC", "CCC"])
  assert molecule_metrics.fraction_unique(valid) == 2 / 3
  # unique@2: the first two are both ethanol, 1 distinct of 2.
  assert molecule_metrics.fraction_unique(valid, k=2) == 1 / 2
  assert molecule_metrics.fraction_unique(valid, k=3) == 2 / 3
  # Fewer than k valid molecules: not reported.
  assert molecule_metrics.fraction_unique(valid, k=4) is None
  assert molecule_metrics.fraction_unique([]) is None


def test_novelty_by_hand():
  # Distinct valid samples: {CCO, CCC, c1ccccc1}. The training set holds
  # ethanol (as OCC) and benzene (Kekule), so only propane is new: 1 of 3.
  valid = canonical_list(["CCO", "OCC", "CCC", "c1ccccc1"])
  train = frozenset(canonical_list(["OCC", "C1=CC=CC=C1"]))
  assert molecule_metrics.novelty(valid, train) == 1 / 3
  assert molecule_metrics.novelty(valid, frozenset()) == 1.0
  assert molecule_metrics.novelty([], train) is None


def test_fingerprints_are_morgan_radius_2_with_1024_bits():
  bits = fingerprints_of("C", "CC", "O")
  assert bits.shape == (3, 1024) and bits.dtype == np.uint8
  # Methane has one atom environment, ethane two (the CH3 and, at radius 1,
  # CH3-CH3; both carbons alike), water one, all different.
  assert bits.sum(axis=1).tolist() == [1, 2, 1]
  assert bits.sum(axis=0).max() == 1  # no bit shared


def test_fingerprints_match_the_deprecated_call_moses_makes():
  from rdkit.Chem import AllChem  # pylint: disable=g-import-not-at-top
  if not hasattr(AllChem, "GetMorganFingerprintAsBitVect"):
    pytest.skip("this RDKit no longer has GetMorganFingerprintAsBitVect")
  smiles = datasets.read_smiles(datasets.moses_train_path(), 50)
  molecules = [Chem.MolFromSmiles(s) for s in smiles]
  moses_bits = np.array([np.asarray(AllChem.GetMorganFingerprintAsBitVect(
      m, 2, nBits=1024), np.uint8) for m in molecules])
  np.testing.assert_array_equal(
      molecule_metrics.morgan_fingerprints(molecules), moses_bits)


def test_internal_diversity_by_hand():
  # Two identical molecules: all four pairs have T = 1, IntDiv = 0.
  assert molecule_metrics.internal_diversity(fingerprints_of("CCO", "CCO")) \
      == 0.0
  # x = y pairs count: n molecules sharing no bit give 1 - n/n^2 = 1 - 1/n,
  # here 1 - 1/3 = 2/3 (bits checked disjoint above), and 0 for one alone.
  assert molecule_metrics.internal_diversity(
      fingerprints_of("C", "CC", "O")) == pytest.approx(2 / 3)
  assert molecule_metrics.internal_diversity(fingerprints_of("CCO")) == 0.0
  assert molecule_metrics.internal_diversity(np.zeros((0, 1024))) is None
  # Rows {0, 1} and {1, 2}: T = 1 / 3, IntDiv1 = 1 - (1 + 1 + 2/3) / 4 = 1/3;
  # IntDiv2 = 1 - sqrt((1 + 1/9) / 2) = 1 - sqrt(5) / 3.
  rows = np.array([[1, 1, 0, 0], [0, 1, 1, 0]])
  assert molecule_metrics.internal_diversity(rows) == pytest.approx(1 / 3)
  assert molecule_metrics.internal_diversity(rows, p=2) == pytest.approx(
      1 - math.sqrt(5) / 3)
  # Two empty fingerprints: 0 / 0 counts as T = 1 (MOSES), so 0.
  assert molecule_metrics.internal_diversity(np.zeros((2, 4))) == 0.0


def test_internal_diversity_of_a_pair_against_rdkit_tanimoto():
  # For a pair with similarity s: 1 - (1 + 1 + 2 s) / 4 = (1 - s) / 2 and
  # IntDiv2 = 1 - sqrt((1 + s^2) / 2). CCO and CCN share 3 of their 6 bits
  # each, s = 3 / (6 + 6 - 3) = 1/3; RDKit computes s independently here.
  generator = rdFingerprintGenerator.GetMorganGenerator(radius=2,
                                                        fpSize=1024)
  ethanol, ethylamine = (generator.GetFingerprint(Chem.MolFromSmiles(s))
                         for s in ("CCO", "CCN"))
  s = DataStructs.TanimotoSimilarity(ethanol, ethylamine)
  assert s == pytest.approx(1 / 3)
  pair = fingerprints_of("CCO", "CCN")
  assert molecule_metrics.internal_diversity(pair) == pytest.approx(
      (1 - s) / 2)
  assert molecule_metrics.internal_diversity(pair, p=2) == pytest.approx(
      1 - math.sqrt((1 + s * s) / 2))


def test_internal_diversity_does_not_depend_on_the_batch(monkeypatch):
  bits = fingerprints_of("CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCO")
  whole = molecule_metrics.internal_diversity(bits, p=2)
  monkeypatch.setattr(molecule_metrics, "_SIMILARITY_BATCH", 2)
  assert molecule_metrics.internal_diversity(bits, p=2) == pytest.approx(
      whole, abs=1e-12)


def test_wasserstein_by_hand():
  # {1, 2} vs {2, 3}: F - G = 1/2 on [1, 3), integral 1.
  assert molecule_metrics.wasserstein(np.array([1.0, 2.0]),
                                      np.array([2.0, 3.0])) == 1.0
  # {0} vs {0, 1}: F = 1, G = 1/2 on [0, 1), integral 1/2.
  assert molecule_metrics.wasserstein(np.array([0.0]),
                                      np.array([0.0, 1.0])) == 0.5
  assert molecule_metrics.wasserstein(np.array([]), np.array([1.0])) is None


def test_properties_are_rdkit_and_the_score_terms():
  ethanol, ethane = Chem.MolFromSmiles("CCO"), Chem.MolFromSmiles("CC")
  # Weights: 2 x 12.011 + 15.999 + 6 x 1.008 = 46.069, ethane 30.070.
  np.testing.assert_allclose(
      molecule_metrics.property_values([ethanol, ethane], "weight"),
      [46.069, 30.070])
  terms = scores.molecule_terms("CCO")
  assert molecule_metrics.property_values([ethanol], "logp")[0] == terms.logp
  assert molecule_metrics.property_values([ethanol], "sa")[0] == terms.sa
  assert set(molecule_metrics.PROPERTIES) == {"logp", "sa", "qed", "weight"}


def test_all_metrics_of_a_small_set_by_hand():
  samples = ["CCO", "OCC", None, "C1CC", "c1ccccc1"]
  metrics = metrics_of(samples, ["OCC"], ["CCO", "CCC", "C1CC"])
  json.dumps(metrics, allow_nan=False)
  assert metrics["samples"] == 5 and metrics["valid_samples"] == 3
  assert metrics["valid"] == 3 / 5
  assert metrics["unique"] == 2 / 3  # ethanol twice, benzene
  assert metrics["unique@1000"] is None and metrics["unique@10000"] is None
  assert metrics["novelty"] == 1 / 2  # of {ethanol, benzene}, benzene
  # Duplicates kept: fingerprints of ethanol, ethanol, benzene.
  assert metrics["int_div"] == pytest.approx(
      molecule_metrics.internal_diversity(
          fingerprints_of("CCO", "CCO", "c1ccccc1")))
  # Weights: samples {46.069, 46.069, 78.114}, valid test {46.069, 44.097}
  # ("C1CC" skipped). |F - G| = 1/2 on [44.097, 46.069) and 1 - 2/3 = 1/3
  # on [46.069, 78.114): W1 = 1.972 / 2 + 32.045 / 3 = 11.66867.
  assert metrics["w1_weight"] == pytest.approx(1.972 / 2 + 32.045 / 3,
                                               abs=1e-9)
  logp = [Descriptors.MolLogP(Chem.MolFromSmiles(s)) for s in
          ("CCO", "CCO", "c1ccccc1", "CCO", "CCC")]
  assert metrics["w1_logp"] == pytest.approx(
      molecule_metrics.wasserstein(np.array(logp[:3]), np.array(logp[3:])))
  assert metrics["w1_qed"] >= 0.0 and metrics["w1_sa"] >= 0.0


def test_metrics_without_a_valid_sample_are_none():
  metrics = metrics_of([None, "C1CC"], ["CCO"], ["CCO"])
  assert metrics["valid"] == 0.0 and metrics["valid_samples"] == 0
  assert all(value is None for key, value in metrics.items()
             if key not in ("samples", "valid_samples", "valid"))
  json.dumps(metrics, allow_nan=False)


def metrics_of(samples, train, test):
  """The metrics of `samples` (no FCD: the test sets here are tiny)."""
  return molecule_metrics.metrics_against(
      samples, molecule_metrics.reference(train, test, with_fcd=False))
