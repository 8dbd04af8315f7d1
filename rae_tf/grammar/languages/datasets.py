"""The expression set (generated here) and SMILES files, as lists of strings.

`expressions()` builds the arithmetic-expression set in code. Kusner et al.'s
file is an enumeration of ~100k expressions from a few templates; ours is a
seeded sample of the whole grammar instead, built as follows. Let E be the
expressions of the grammar (`expression_grammar.py`) whose derivation has at
most 15 rules (so at most 14: derivations have even length) and whose compact
string has at most 19 characters (the CVAE's length, so both encoders see the
same set). The set is
  * every expression of E with at most 8 rules (21,088: "x", "sin(x)+2", ...),
  * plus a uniform sample without replacement of the ones with 10 to 14 rules
    (186,878,196 of them), to `EXPRESSION_COUNT` = 100,000 in all,
in an order shuffled by `seed`. The sample is exact: expressions are counted
per (rules, characters) and drawn by unranking, not by rejection.

SMILES come from the MOSES training set shipped in the `molsets` wheel
(`moses_train_path`) or from a user's file (`read_smiles`).
"""

from __future__ import annotations

import bisect
import csv
import functools
import gzip
import importlib.util
import io
import os

from absl import logging
import numpy as np

from rae_tf import errors

EXPRESSION_COUNT = 100_000
_MAX_RULES = 14  # the largest even number <= 15, the grammar's max_length
_MAX_CHARACTERS = 19
_ALL_UP_TO = 8  # every expression of at most this many rules is kept
_LEAVES = ("x", "1", "2", "3")
_OPERATORS = ("+", "*", "/")
_FUNCTIONS = (("(", 2), ("sin(", 5), ("exp(", 5))  # prefix, characters added


class DataError(errors.UserError, ValueError):
  """A SMILES file is missing, unreadable, has no SMILES, or a package is."""


def expressions(max_count: int | None = None, seed: int = 0) -> list[str]:
  """The expression data set, e.g. "sin(x)+x*2"; see the module docstring.

  Args:
    max_count: the first `max_count` of the shuffled set (all if None).
    seed: fixes the sample and the order; the same seed gives the same list.

  Returns:
    Distinct compact strings (no spaces), each in the expression grammar
    within 15 rules and at most 19 characters.
  """
  data = _expression_set(seed)
  return list(data if max_count is None else data[:max_count])


@functools.lru_cache(maxsize=4)
def _expression_set(seed: int) -> tuple[str, ...]:
  counts = _Counts()
  short = [counts.unrank_s(rules, length, rank)
           for rules in range(2, _ALL_UP_TO + 1, 2)
           for length in range(1, _MAX_CHARACTERS + 1)
           for rank in range(counts.s(rules, length))]
  strata = [(rules, length)
            for rules in range(_ALL_UP_TO + 2, _MAX_RULES + 1, 2)
            for length in range(1, _MAX_CHARACTERS + 1)
            if counts.s(rules, length)]
  ends = np.cumsum([counts.s(*stratum) for stratum in strata]).tolist()
  rng = np.random.default_rng(seed)
  ranks = rng.choice(ends[-1], size=EXPRESSION_COUNT - len(short),
                     replace=False)
  long = []
  for rank in sorted(ranks.tolist()):
    k = bisect.bisect_right(ends, rank)
    start = ends[k - 1] if k else 0
    long.append(counts.unrank_s(*strata[k], rank - start))
  data = short + long
  return tuple(data[i] for i in rng.permutation(len(data)))


class _Counts:
  """Numbers of S / T subtrees with n rules and L characters, and unranking.

  Each `unrank_*(n, L, r)` returns the r-th such subtree's string, in the
  order: the grammar's rules in turn, then the split of rules and characters
  between children, then the left child's rank, then the right child's.
  """

  def __init__(self):
    self._s = {}
    self._t = {}

  def t(self, n: int, length: int) -> int:
    if n < 1 or length < 1:
      return 0
    if (n, length) not in self._t:
      if n == 1:
        value = len(_LEAVES) if length == 1 else 0
      else:
        value = sum(self.s(n - 1, length - extra) for _, extra in _FUNCTIONS)
      self._t[n, length] = value
    return self._t[n, length]

  def s(self, n: int, length: int) -> int:
    return sum(block for *_, block in self._s_blocks(n, length))

  def _s_blocks(self, n: int, length: int) -> list[tuple]:
    """(operator, left rules, left chars, block size) per way of building S;
    operator None is S -> T."""
    if (n, length) not in self._s:
      blocks = []
      for operator in _OPERATORS:  # S -> S op T: n - 1 rules, L - 1 chars
        for left_n in range(1, n - 1):
          for left_length in range(1, length - 1):
            size = (self.s(left_n, left_length)
                    * self.t(n - 1 - left_n, length - 1 - left_length))
            if size:
              blocks.append((operator, left_n, left_length, size))
      if self.t(n - 1, length):
        blocks.append((None, n - 1, length, self.t(n - 1, length)))
      self._s[n, length] = blocks
    return self._s[n, length]

  def unrank_s(self, n: int, length: int, rank: int) -> str:
    for operator, left_n, left_length, size in self._s_blocks(n, length):
      if rank >= size:
        rank -= size
        continue
      if operator is None:
        return self.unrank_t(left_n, left_length, rank)
      right_n, right_length = n - 1 - left_n, length - 1 - left_length
      left_rank, right_rank = divmod(rank, self.t(right_n, right_length))
      return (self.unrank_s(left_n, left_length, left_rank) + operator
              + self.unrank_t(right_n, right_length, right_rank))
    raise IndexError(f"rank out of range for S({n}, {length})")

  def unrank_t(self, n: int, length: int, rank: int) -> str:
    if n == 1:
      return _LEAVES[rank]
    for prefix, extra in _FUNCTIONS:
      size = self.s(n - 1, length - extra)
      if rank < size:
        return prefix + self.unrank_s(n - 1, length - extra, rank) + ")"
      rank -= size
    raise IndexError(f"rank out of range for T({n}, {length})")


def moses_train_path() -> str:
  """Path of the MOSES training SMILES (1.58 M, ZINC-derived) in `molsets`.

  Raises:
    DataError: molsets is not installed, or its wheel lacks the file.
  """
  spec = importlib.util.find_spec("moses")  # finds, does not import (torch)
  fix = "install it with `pip install --no-deps molsets==0.3.1`"
  if spec is None or not spec.submodule_search_locations:
    raise DataError(f"the MOSES data needs the molsets package; {fix}")
  path = os.path.join(list(spec.submodule_search_locations)[0], "dataset",
                      "data", "train.csv.gz")
  if not os.path.isfile(path):
    raise DataError(f"molsets is installed but {path} is missing; {fix}")
  return path


_SUFFIXES = (".csv", ".smi", ".txt")


def read_smiles(path: str, max_count: int | None = None) -> list[str]:
  """Reads SMILES from a file, keeping those RDKit accepts.

  Formats: `.csv` with a header naming a "SMILES" column (any case), or
  `.smi` / `.txt` with one SMILES per line (the first whitespace-separated
  field; a first line "smiles" is taken as a header); each optionally
  gzipped (`.gz`). SMILES RDKit rejects are skipped and counted in one log
  line.

  Args:
    path: the file.
    max_count: stop after this many valid SMILES (all if None).

  Raises:
    DataError: the file is missing or unreadable, has an unknown suffix, a
      CSV has no SMILES column, or no valid SMILES is found.
  """
  from rdkit import Chem  # pylint: disable=g-import-not-at-top
  from rdkit import rdBase  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(path):
    raise DataError(f"SMILES file {path} does not exist; give the path of a "
                    ".csv with a SMILES column or a .smi file")
  stem = path[:-3] if path.endswith(".gz") else path
  suffix = os.path.splitext(stem)[1].lower()
  if suffix not in _SUFFIXES:
    raise DataError(f"{path}: unknown SMILES file type {suffix!r}; use one of "
                    f"{', '.join(_SUFFIXES)} (optionally .gz)")
  smiles, rejected, first_rejected = [], 0, None
  try:
    with _open_text(path) as f, rdBase.BlockLogs():
      for candidate in _candidates(f, path, suffix):
        if max_count is not None and len(smiles) >= max_count:
          break
        if Chem.MolFromSmiles(candidate) is None:
          rejected += 1
          first_rejected = first_rejected or candidate
        else:
          smiles.append(candidate)
  except (OSError, UnicodeDecodeError, EOFError, csv.Error) as e:
    raise DataError(f"cannot read SMILES file {path}: {e}") from None
  if rejected:
    logging.warning("%s: skipped %d of %d SMILES that RDKit rejects "
                    "(first: %r)", path, rejected, rejected + len(smiles),
                    first_rejected)
  if not smiles:
    what = f"all {rejected} SMILES are invalid" if rejected else "no SMILES"
    raise DataError(f"SMILES file {path} has {what}; expected one SMILES per "
                    "line (.smi) or a CSV with a SMILES column")
  return smiles


def _open_text(path: str) -> io.TextIOBase:
  if path.endswith(".gz"):
    return gzip.open(path, "rt", encoding="utf-8", newline="")
  return open(path, encoding="utf-8", newline="")


def _candidates(lines, path: str, suffix: str):
  """Yields the non-empty SMILES fields of an open file."""
  if suffix == ".csv":
    rows = csv.reader(lines)
    header = next(rows, None)
    if header is None:
      return
    names = [name.strip().lower() for name in header]
    if "smiles" not in names:
      raise DataError(f"{path}: no SMILES column in the header {header}; "
                      "name the column 'SMILES'")
    column = names.index("smiles")
    for row in rows:
      if len(row) > column and row[column].strip():
        yield row[column].strip()
    return
  for number, line in enumerate(lines):
    fields = line.split()
    if not fields or (number == 0 and fields[0].lower() == "smiles"):
      continue
    yield fields[0]
