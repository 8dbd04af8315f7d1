"""The generated expression set, SMILES files and the MOSES training file."""

import gzip
import importlib.util
import logging

import pytest

from rae_tf import errors
from rae_tf.grammar.languages import datasets
from rae_tf.grammar.languages import grammars


def test_expression_counts_by_hand():
  counts = datasets._Counts()  # pylint: disable=protected-access
  # 2 rules: S -> T -> leaf, the 4 leaves.
  assert counts.s(2, 1) == 4
  # 4 rules: leaf op leaf (3 * 4 * 4 = 48, 3 characters) and f(leaf) with
  # f in '(', giving 3 characters (4), or sin( / exp(, giving 6 (8).
  assert (counts.s(4, 3), counts.s(4, 6)) == (48 + 4, 8)
  assert sum(counts.s(n, length) for n in range(1, 9)
             for length in range(1, 20)) == 21088


def test_expressions_are_deterministic_distinct_and_in_the_grammar():
  full = datasets.expressions()
  assert len(full) == datasets.EXPRESSION_COUNT == 100_000
  assert len(set(full)) == len(full)
  assert datasets.expressions(max_count=1000) == full[:1000]
  assert datasets.expressions(max_count=1000, seed=1) != full[:1000]
  g = grammars.grammar_for("expressions")
  ids, kept = g.to_rule_array(full)
  assert len(kept) == len(full)  # all parse within 15 rules
  assert max(map(len, full)) <= 19
  lengths = (ids != g.padding_rule).sum(axis=1)
  # All 4 + 60 + 1044 + 19980 expressions of at most 8 rules are there.
  assert (lengths <= 8).sum() == 21088
  assert {"x", "3", "x+x", "sin(x)", "exp(exp(exp(x)))"} <= set(full)


def test_expressions_survive_a_fresh_cache():
  first = datasets.expressions(max_count=200, seed=3)
  datasets._expression_set.cache_clear()  # pylint: disable=protected-access
  assert datasets.expressions(max_count=200, seed=3) == first


def test_read_csv_with_any_case_header(tmp_path):
  path = tmp_path / "mols.csv"
  path.write_text("id,Smiles,logP\n1,CCO,0.1\n2,c1ccccc1,1.7\n3,,0\n")
  assert datasets.read_smiles(str(path)) == ["CCO", "c1ccccc1"]


def test_read_gzipped_csv_and_max_count(tmp_path):
  path = tmp_path / "mols.csv.gz"
  with gzip.open(path, "wt") as f:
    f.write("SMILES\nCCO\nCCN\nCCC\n")
  assert datasets.read_smiles(str(path), max_count=2) == ["CCO", "CCN"]


def test_read_smi_skips_rejected_smiles_with_one_log_line(tmp_path, caplog):
  path = tmp_path / "mols.smi"
  # Header, a name column, a blank line, an unclosed ring and a 5-valent C.
  path.write_text("smiles name\nCCO ethanol\n\nC1CC bad\nC(C)(C)(C)(C)C\n"
                  "c1ccccc1\n")
  with caplog.at_level(logging.WARNING):
    smiles = datasets.read_smiles(str(path))
  assert smiles == ["CCO", "c1ccccc1"]
  messages = [r.getMessage() for r in caplog.records]
  assert len(messages) == 1
  assert "skipped 2 of 4 SMILES that RDKit rejects (first: 'C1CC')" in (
      messages[0])


def test_read_txt(tmp_path):
  path = tmp_path / "mols.txt"
  path.write_text("CCO\nCCN\n")
  assert datasets.read_smiles(str(path)) == ["CCO", "CCN"]


@pytest.mark.parametrize("name, content, match", [
    ("missing.smi", None, "does not exist"),
    ("mols.sdf", "CCO\n", "unknown SMILES file type '.sdf'"),
    ("mols.csv", "id,name\n1,CCO\n", "no SMILES column.*'id', 'name'"),
    ("empty.smi", "", "has no SMILES"),
    ("bad.smi", "C1CC\nxyz\n", "all 2 SMILES are invalid"),
    ("broken.csv.gz", "not gzip", "cannot read SMILES file"),
])
def test_read_smiles_errors(tmp_path, name, content, match):
  path = tmp_path / name
  if content is not None:
    path.write_text(content)
  with pytest.raises(datasets.DataError, match=match):
    datasets.read_smiles(str(path))
  assert issubclass(datasets.DataError, errors.UserError)


def test_moses_train_file():
  path = datasets.moses_train_path()
  assert path.endswith("moses/dataset/data/train.csv.gz")
  assert datasets.read_smiles(path, max_count=3) == [
      "CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1",
      "CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1",
      "Cc1c(Cl)cccc1Nc1ncccc1C(=O)OCC(O)CO",
  ]


def test_missing_molsets_names_the_install_command(monkeypatch):
  monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
  with pytest.raises(datasets.DataError,
                     match=r"pip install --no-deps molsets==0\.3\.1"):
    datasets.moses_train_path()
