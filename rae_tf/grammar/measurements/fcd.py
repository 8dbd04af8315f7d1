"""Frechet ChemNet Distance (Preuer et al. 2018), in-process and offline.

    FCD = ||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})

of Gaussians fitted to the ChemNet features (`chemnet.py`) of two sets of
molecules: the FID's formula (`rae_tf.evaluation.fid`, shared) on 512-d
chemical features. Strings are taken as given: `molecule_metrics` passes
RDKit's canonical SMILES of the valid molecules, duplicates kept, as MOSES's
`get_all_metrics`; the `fcd` package canonicalises nothing either, so the
parity test feeds both the same strings. Like the FID, the FCD is biased upward at small N: every value
carries its two sample counts, and a table compares it with real molecules
at the same N.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional, Sequence

import keras

from rae_tf.evaluation import fid
from rae_tf.grammar.measurements import chemnet


@dataclasses.dataclass(frozen=True)
class FcdResult:
  """An FCD value with the sample counts it was computed from."""

  value: float
  n: int  # evaluated molecules
  n_reference: int

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)


@functools.cache
def _shared_chemnet() -> keras.Model:
  return chemnet.load_chemnet()


def statistics(smiles: Sequence[str],
               model: Optional[keras.Model] = None) -> fid.FeatureStatistics:
  """Mean and covariance of the ChemNet features of >= 2 SMILES strings."""
  return fid.FeatureStatistics.from_features(
      chemnet.features(model or _shared_chemnet(), list(smiles)))


def fcd(smiles: Sequence[str], reference: fid.FeatureStatistics,
        model: Optional[keras.Model] = None) -> Optional[FcdResult]:
  """FCD of >= 2 SMILES strings against reference statistics.

  Args:
    smiles: the evaluated strings.
    reference: `statistics` of the reference set.
    model: ChemNet (default: the converted weights, loaded once).

  Returns:
    The FcdResult, or None with fewer than 2 strings (no covariance).
  """
  if len(smiles) < 2:
    return None
  features = chemnet.features(model or _shared_chemnet(), list(smiles))
  result = fid.fid_from_features(features, reference)
  return FcdResult(result.value, result.n, result.n_reference)
