"""The Keras ChemNet and FCD against the `fcd` package, on real molecules.

The parity tests need torch and fcd (requirements-fid.txt and
requirements-fid-nodeps.txt, which ./run.sh installs) and are skipped with
that reason without them. ChemNet runs ~160 molecules/s here: sets of a few
hundred MOSES molecules keep each test to seconds.
"""

import numpy as np
import pytest

from rae_tf.evaluation import fid
from rae_tf.grammar.languages import datasets
from rae_tf.grammar.measurements import chemnet
from rae_tf.grammar.measurements import convert_chemnet
from rae_tf.grammar.measurements import fcd

# The four tensors of ChemNet_v0.13_pretrained.pt: conv 32x35x4 and 32x32x4,
# LSTM 128 (4 * 128 * (32 + 128) weights + 4 * 128 biases: 82,432) and
# LSTM 512 (4 * 512 * (128 + 512) + 4 * 512 = 1,312,768); the torch file's
# two bias vectors per LSTM are one sum in Keras.
PARAMETERS = 32 * 35 * 4 + 32 * 32 * 4 + 82_432 + 1_312_768


@pytest.fixture(scope="module")
def molecules():
  return datasets.read_smiles(datasets.moses_train_path(), 1400)


@pytest.fixture(scope="module")
def fcd_package():
  pytest.importorskip("torch", reason="torch is not installed: pip install "
                      "-r requirements-fid.txt to run the parity tests")
  return pytest.importorskip(
      "fcd", reason="fcd is not installed: pip install --no-deps -r "
      "requirements-fid-nodeps.txt to run the parity tests")


def test_tokens_as_the_package_splits_them():
  # Cl, Br and Si are one token; bracket atoms are split; "." ends the
  # string; characters outside the vocabulary (9, %, /, \\) become X.
  ids = chemnet.token_ids("ClC[nH]Br/9")
  tokens = [chemnet.VOCABULARY[i] for i in ids]
  assert tokens == ["Cl", "C", "[", "n", "H", "]", "Br", "X", "X", "."]


def test_one_hot_rows_are_scaled_by_the_vocabulary_size():
  rows = chemnet.one_hot(["CO"], chemnet.padded_length(["CO"]))
  assert rows.shape == (1, 350, 35)
  assert rows[0, 0, chemnet.VOCABULARY.index("C")] == pytest.approx(1 / 35)
  assert rows[0, 2, chemnet.VOCABULARY.index(".")] == pytest.approx(1 / 35)
  assert not rows[0, 3:].any()  # zero padding, nothing masked
  assert chemnet.padded_length(["C" * 400]) == 401


def test_network_shape_and_parameter_count():
  model = chemnet.build_chemnet()
  assert model.count_params() == PARAMETERS
  assert chemnet.features(model, ["CCO", "c1ccccc1"]).shape == (2, 512)
  assert chemnet.features(model, []).shape == (0, 512)


def test_features_match_the_package(fcd_package, molecules):
  expected = fcd_package.get_predictions(
      fcd_package.load_ref_model(), molecules[:64], device="cpu")
  actual = chemnet.features(chemnet.load_chemnet(), molecules[:64])
  assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()


@pytest.mark.parametrize("size", [200, 600])  # below and above 512 features
def test_fcd_matches_the_package_within_half_a_percent(fcd_package, molecules,
                                                       size):
  evaluated, reference = molecules[:size], molecules[700:1400]
  expected = fcd_package.get_fcd(evaluated, reference, device="cpu")
  actual = fcd.fcd(evaluated, fcd.statistics(reference))
  assert actual.n == size and actual.n_reference == 700
  assert actual.value == pytest.approx(expected, rel=5e-3)


def test_fcd_of_a_set_with_itself_is_zero(molecules):
  statistics = fcd.statistics(molecules[:600])
  assert abs(fcd.fcd(molecules[:600], statistics).value) < 1e-6


def test_fcd_separates_real_molecules_from_fragments(molecules):
  reference = fcd.statistics(molecules[600:1400])
  real = fcd.fcd(molecules[:200], reference).value
  fragments = fcd.fcd(["C", "O", "N", "CC", "CO", "[H-]", "B"] * 30,
                      reference).value
  assert real < fragments / 3
  assert fcd.fcd(["CCO"], reference) is None  # no covariance of one


def test_fcd_uses_the_fid_formula(molecules):
  # Same numbers as the Frechet distance of the two Gaussians fitted here.
  model = chemnet.load_chemnet()
  a = chemnet.features(model, molecules[:600])
  b = fid.FeatureStatistics.from_features(
      chemnet.features(model, molecules[600:1200]))
  mu, sigma = fid.statistics(a)
  assert fcd.fcd(molecules[:600], b, model).value == pytest.approx(
      fid.frechet_distance(mu, sigma, b.mu, b.sigma), rel=1e-9)


def test_convert_rejects_another_file(tmp_path):
  other = tmp_path / "other.pt"
  other.write_bytes(b"not ChemNet")
  with pytest.raises(convert_chemnet.ConversionError, match="SHA-1"):
    convert_chemnet.convert(str(other), str(tmp_path / "x.weights.h5"))
  with pytest.raises(convert_chemnet.ConversionError, match=".weights.h5"):
    convert_chemnet.convert(str(other), str(tmp_path / "x.h5"))
  assert sorted(p.name for p in tmp_path.iterdir()) == ["other.pt"]


def test_missing_weights_name_the_command(tmp_path):
  with pytest.raises(chemnet.WeightsError, match="convert_chemnet"):
    chemnet.load_chemnet(str(tmp_path / "none.weights.h5"))
