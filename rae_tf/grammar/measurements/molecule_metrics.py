"""MOSES molecule metrics of decoded SMILES samples (RDKit, numpy, scipy).

For N samples s_1..s_N (None marks an unfinished decoding), let V be the
canonical SMILES of the valid ones in sample order, duplicates kept (MOSES's
`remove_invalid(gen, canonize=True)`), and T(x, y) = |x & y| / (|x| + |y| -
|x & y|) the Tanimoto similarity of Morgan bit fingerprints (radius 2, 1024
bits); 0 / 0 counts as 1, as in MOSES. Then
  valid        = |V| / N: None, "" and SMILES RDKit rejects are invalid;
  unique@k     = |set(V[:k])| / k, for k = 1000 and 10000; None when |V| < k
                 (MOSES then warns and divides by |V| instead);
  unique       = |set(V)| / |V|;
  novelty      = |set(V) - C| / |set(V)|, C = canonical training SMILES;
  int_div(p)   = 1 - (1/|V|) sum_y ((1/|V|) sum_x T(x, y)^p)^(1/p), the sums
                 over all molecules of V (duplicates kept), x = y included
                 (T = 1), so int_div = 1 - (1/|V|^2) sum_{x,y} T(x, y) <=
                 1 - 1/|V| for p = 1 (IntDiv1), and p = 2 gives IntDiv2;
  w1_<prop>    = integral |F_V(t) - F_test(t)| dt, the Wasserstein-1 distance
                 between the property's empirical distributions over V
                 (duplicates kept) and over the valid test SMILES, for prop in
                 logp (Crippen MolLogP), sa (synthetic accessibility,
                 `scores`' RDKit Contrib sascorer), qed (RDKit QED) and weight
                 (Descriptors.MolWt, g/mol).
Every metric of the valid set is None when no sample is valid.

MOSES (molsets 0.3.1, moses/metrics/) is mirrored, not imported:
`moses.metrics` imports torch, pandas and fcd_torch when loaded (pandas and
fcd_torch are not installed here). Each function names the MOSES function it
follows. Two deliberate differences: unique@k is None rather than a share of
fewer than k molecules, and novelty canonicalises the training SMILES (MOSES
compares with them as given, its own training set being canonical already).
MOSES's Morgan fingerprints come from the deprecated
`GetMorganFingerprintAsBitVect(mol, 2, nBits=1024)`; RDKit's Morgan
generator with the same radius and size sets the same bits.

  fcd          = the Frechet ChemNet Distance (`fcd.py`) of V against the
                 valid test SMILES (canonical, as MOSES), with both counts;
                 None with fewer than 2 valid samples or without ChemNet
                 statistics in the `Reference`.
MOSES's SNN, Frag, Scaf and Filters are not computed.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Iterable, Optional, Sequence

from absl import logging
import numpy as np
from rdkit import Chem
from rdkit import rdBase
from rdkit.Chem import Crippen
from rdkit.Chem import Descriptors
from rdkit.Chem import QED
from rdkit.Chem import rdFingerprintGenerator
import scipy.stats

from rae_tf.evaluation import fid
from rae_tf.grammar.measurements import fcd
from rae_tf.grammar.measurements import scores

UNIQUE_AT = (1000, 10000)
MORGAN_RADIUS = 2
MORGAN_BITS = 1024
_SIMILARITY_BATCH = 1000  # rows of the (batch, |V|) similarity block


def synthetic_accessibility(molecule: Chem.Mol) -> float:
  """Ertl & Schuffenhauer's SA score, 1 (easy) .. 10 (hard), MOSES's `SA`.

  The RDKit Contrib sascorer that `scores.molecule_terms` loads; MOSES ships
  an older copy of it with the same fragment scores.
  """
  return scores.sascorer().calculateScore(molecule)


# MOSES's logP, SA, QED, weight (moses/metrics/utils.py), keyed w1_<name>.
PROPERTIES: dict[str, Callable[[Chem.Mol], float]] = {
    "logp": Crippen.MolLogP,
    "sa": synthetic_accessibility,
    "qed": QED.qed,
    "weight": Descriptors.MolWt,
}


def to_molecule(smiles: Optional[str]) -> Optional[Chem.Mol]:
  """RDKit molecule of `smiles`; None for None, "" or a rejected SMILES.

  Mirrors `moses.utils.get_mol` (whose second SanitizeMol repeats the one
  MolFromSmiles does).
  """
  if not smiles:
    return None
  with rdBase.BlockLogs():
    return Chem.MolFromSmiles(smiles)


def canonical(smiles: Optional[str]) -> Optional[str]:
  """RDKit's canonical SMILES, None if invalid (`canonic_smiles`)."""
  molecule = to_molecule(smiles)
  return None if molecule is None else Chem.MolToSmiles(molecule)


def fraction_valid(samples: Sequence[Optional[str]]) -> float:
  """|valid| / N, MOSES's `fraction_valid`.

  Raises:
    ValueError: `samples` is empty.
  """
  if not samples:
    raise ValueError("fraction_valid needs at least one sample; got none")
  return sum(to_molecule(s) is not None for s in samples) / len(samples)


def fraction_unique(valid_canonical: Sequence[str],
                    k: Optional[int] = None) -> Optional[float]:
  """|set(V[:k])| / k, or |set(V)| / |V| without k (`fraction_unique`).

  Args:
    valid_canonical: V, canonical SMILES of the valid samples in order.
    k: look at the first k only; None if there are fewer than k.

  Returns:
    The unique share, or None (fewer than k, or no valid molecule).
  """
  if k is not None:
    if len(valid_canonical) < k:
      return None
    valid_canonical = valid_canonical[:k]
  if not valid_canonical:
    return None
  return len(set(valid_canonical)) / len(valid_canonical)


def novelty(valid_canonical: Iterable[str],
            train_canonical: frozenset[str]) -> Optional[float]:
  """|set(V) - C| / |set(V)| (`novelty`); None if V is empty.

  Args:
    valid_canonical: V, canonical SMILES of the valid samples.
    train_canonical: C, canonical SMILES of the training set.
  """
  unique = set(valid_canonical)
  if not unique:
    return None
  return len(unique - train_canonical) / len(unique)


def morgan_fingerprints(molecules: Sequence[Chem.Mol]) -> np.ndarray:
  """(N, 1024) uint8 Morgan bits of radius 2 (`fingerprints(fp_type=
  'morgan')`)."""
  generator = rdFingerprintGenerator.GetMorganGenerator(
      radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)
  rows = [generator.GetFingerprintAsNumPy(m).astype(np.uint8)
          for m in molecules]
  return np.stack(rows) if rows else np.zeros((0, MORGAN_BITS), np.uint8)


def internal_diversity(fingerprints: np.ndarray,
                       p: int = 1) -> Optional[float]:
  """1 - (1/n) sum_y ((1/n) sum_x T(x, y)^p)^(1/p) over all n^2 pairs.

  MOSES's `internal_diversity` (`average_agg_tanimoto(fps, fps, agg='mean',
  p=p)`): x = y pairs included, 0 / 0 similarities count as 1.

  Args:
    fingerprints: (n, bits) 0/1 array, one row per molecule (duplicates
      kept).
    p: 1 for IntDiv1, 2 for IntDiv2.

  Returns:
    The diversity in [0, 1 - 1/n] for p = 1; None for n = 0.
  """
  # float32 counts bits exactly (up to 2^24) and multiplies twice as fast.
  bits = np.asarray(fingerprints, np.float32)  # (n, bits)
  count = len(bits)
  if count == 0:
    return None
  on_bits = bits.sum(axis=1, dtype=np.float64)  # (n,)
  power_sums = np.zeros(count)  # sum_x T(x, y)^p, per y
  for start in range(0, count, _SIMILARITY_BATCH):
    rows = bits[start:start + _SIMILARITY_BATCH]  # (b, bits)
    shared = (rows @ bits.T).astype(np.float64)  # (b, n)
    union = on_bits[start:start + _SIMILARITY_BATCH, None] + on_bits - shared
    similarity = np.divide(shared, union, out=np.ones_like(shared),
                           where=union > 0)
    power_sums += (similarity if p == 1 else similarity ** p).sum(axis=0)
  return float(1.0 - np.mean((power_sums / count) ** (1.0 / p)))


def property_values(molecules: Sequence[Chem.Mol], name: str) -> np.ndarray:
  """(N,) float64 values of PROPERTIES[name] (`WassersteinMetric.precalc`)."""
  function = PROPERTIES[name]
  with rdBase.BlockLogs():  # QED warns of lone hydrogens ("[H]")
    return np.array([function(m) for m in molecules], np.float64)


def wasserstein(values: np.ndarray,
                reference_values: np.ndarray) -> Optional[float]:
  """W1 = integral |F - G| of two samples (`WassersteinMetric.metric`).

  Returns:
    scipy.stats.wasserstein_distance of the two; None if either is empty.
  """
  if len(values) == 0 or len(reference_values) == 0:
    return None
  return float(scipy.stats.wasserstein_distance(reference_values, values))


@dataclasses.dataclass(frozen=True)
class Reference:
  """What the metrics compare samples with, computed once per run.

  Attributes:
    train_canonical: canonical SMILES of the training set (novelty).
    test_properties: name -> (M,) values over the M valid test SMILES.
    test_chemnet: ChemNet feature statistics of the valid canonical test
      SMILES (FCD), or None.
  """

  train_canonical: frozenset[str]
  test_properties: dict[str, np.ndarray]
  test_chemnet: Optional[fid.FeatureStatistics] = None


def reference(train_smiles: Iterable[str], test_smiles: Iterable[str],
              with_fcd: bool = True) -> Reference:
  """Canonical training SMILES and the test set's properties (and FCD
  statistics).

  On one core, ~0.1 ms per training string and ~1 ms per test string (QED
  dominates), plus ~6 ms per test string for ChemNet.
  """
  start = time.perf_counter()
  train_canonical = frozenset(canonical(s) for s in train_smiles) - {None}
  test_molecules = [m for m in map(to_molecule, test_smiles) if m is not None]
  properties = {name: property_values(test_molecules, name)
                for name in PROPERTIES}
  chemnet_statistics = (
      fcd.statistics([Chem.MolToSmiles(m) for m in test_molecules])
      if with_fcd and len(test_molecules) >= 2 else None)
  logging.info("molecule metrics: %d canonical training SMILES, properties "
               "of %d test molecules in %.1f s", len(train_canonical),
               len(test_molecules), time.perf_counter() - start)
  return Reference(train_canonical, properties, chemnet_statistics)


def metrics_against(samples: Sequence[Optional[str]],
                    against: Reference) -> dict:
  """Every metric of the module docstring for `samples`, as a JSON dict.

  Raises:
    ValueError: `samples` is empty.
  """
  valid_share = fraction_valid(samples)
  molecules = [m for m in map(to_molecule, samples) if m is not None]
  valid_canonical = [Chem.MolToSmiles(m) for m in molecules]
  fingerprints = morgan_fingerprints(molecules)
  results = {
      "samples": len(samples),
      "valid_samples": len(molecules),
      "valid": valid_share,
      "unique": fraction_unique(valid_canonical),
      "novelty": novelty(valid_canonical, against.train_canonical),
      "int_div": internal_diversity(fingerprints, p=1),
      "int_div2": internal_diversity(fingerprints, p=2),
  }
  for k in UNIQUE_AT:
    results[f"unique@{k}"] = fraction_unique(valid_canonical, k)
  for name, test_values in against.test_properties.items():
    results[f"w1_{name}"] = wasserstein(property_values(molecules, name),
                                        test_values)
  distance = (fcd.fcd(valid_canonical, against.test_chemnet)
              if against.test_chemnet is not None else None)
  results["fcd"] = distance.to_dict() if distance else None
  return results
