"""Objectives of the Bayesian optimisation: expression fit and molecule score.

Expressions (lower is better):
  log(1 + mean_i min((f(x_i) - y_i)^2, 1000)),  y = 1/3 + x + sin(x * x),
on 1000 points x_i = linspace(-10, 10). Strings are evaluated with the usual
precedence ('*' and '/' before '+'), as Kusner et al.'s `eval`; points where
f is NaN (e.g. inf / inf) count as the cap 1000, an infinite f gives 1000 by
the cap, and a string outside the grammar scores the worst, log(1001).

Molecules (higher is better), Kusner et al.'s penalised logP standardised
with ZINC-250k statistics:
  (logP - 2.4571) / 1.4343 + (-SA + 3.0526) / 0.8335
      + (-ring_penalty + 0.0486) / 0.2860,
logP: RDKit's Crippen MolLogP; SA: Ertl & Schuffenhauer's synthetic
accessibility score (1 easy .. 10 hard), the `sascorer` in RDKit's Contrib;
ring_penalty = max(largest ring size - 6, 0) over RDKit's smallest set of
smallest rings (Kusner et al. took networkx's cycle basis, which can pick a
longer cycle around fused rings).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import math
import os

import numpy as np

from rae_tf import errors
from rae_tf.grammar.languages import grammars

TARGET_EXPRESSION = "1/3+x+sin(x*x)"
EXPRESSION_POINTS = np.linspace(-10.0, 10.0, 1000)
_ERROR_CAP = 1000.0
WORST_EXPRESSION_SCORE = math.log(1.0 + _ERROR_CAP)

# Means and standard deviations over ZINC-250k (Kusner et al.'s code).
LOGP_MEAN, LOGP_STD = 2.4570953396190123, 1.434324401111988
SA_MEAN, SA_STD = -3.0525811293166134, 0.8335207024513095  # of -SA
RING_MEAN, RING_STD = -0.0485696876403053, 0.2860212110245455  # of -penalty


def evaluate_expression(expression: str) -> np.ndarray | None:
  """f(x) on `EXPRESSION_POINTS`, (1000,) float64; None outside the grammar."""
  grammar = grammars.grammar_for("expressions")
  try:
    code = "".join(grammar.tokenize(expression))
    grammar.derivation(code)
  except grammars.GrammarError:
    return None
  # `code` holds only x, 1, 2, 3, + * / ( ) sin( exp(: safe to evaluate.
  with np.errstate(all="ignore"):
    try:
      value = eval(code, {"__builtins__": {}},  # pylint: disable=eval-used
                   {"x": EXPRESSION_POINTS, "sin": np.sin, "exp": np.exp})
    except ArithmeticError:  # Python-number overflow or 0-division
      return None
  return np.broadcast_to(np.asarray(value, np.float64),
                         EXPRESSION_POINTS.shape)


def is_expression(expression: str) -> bool:
  """Whether `expression` is in the grammar and evaluates (no 0-division)."""
  return evaluate_expression(expression) is not None


@functools.cache
def _target() -> np.ndarray:
  return evaluate_expression(TARGET_EXPRESSION)


def expression_score(expression: str) -> float:
  """log(1 + mean(min((f - y)^2, 1000))); 0 for the target, log(1001) worst."""
  value = evaluate_expression(expression)
  if value is None:
    return WORST_EXPRESSION_SCORE
  with np.errstate(all="ignore"):
    error = np.square(value - _target())
  error = np.where(np.isnan(error), _ERROR_CAP, np.minimum(error, _ERROR_CAP))
  return float(np.log1p(error.mean()))


@dataclasses.dataclass(frozen=True)
class MoleculeTerms:
  """The unstandardised parts of `molecule_score`."""

  logp: float
  sa: float  # synthetic accessibility, 1 (easy) .. 10 (hard)
  ring_penalty: int  # max(largest ring size - 6, 0)

  @property
  def score(self) -> float:
    return ((self.logp - LOGP_MEAN) / LOGP_STD
            + (-self.sa - SA_MEAN) / SA_STD
            + (-self.ring_penalty - RING_MEAN) / RING_STD)


@functools.lru_cache(maxsize=1 << 18)
def is_molecule(smiles: str) -> bool:
  """Whether RDKit accepts `smiles` (MolFromSmiles; "" is not a molecule).

  Cached: the draws of a decoder repeat strings many times.
  """
  from rdkit import Chem  # pylint: disable=g-import-not-at-top
  from rdkit import rdBase  # pylint: disable=g-import-not-at-top
  if not smiles:
    return False
  with rdBase.BlockLogs():
    return Chem.MolFromSmiles(smiles) is not None


def molecule_terms(smiles: str) -> MoleculeTerms | None:
  """logP, SA and ring penalty of `smiles`; None if RDKit rejects it."""
  from rdkit import Chem  # pylint: disable=g-import-not-at-top
  from rdkit import rdBase  # pylint: disable=g-import-not-at-top
  from rdkit.Chem import Crippen  # pylint: disable=g-import-not-at-top
  if not smiles:
    return None
  with rdBase.BlockLogs():
    molecule = Chem.MolFromSmiles(smiles)
  if molecule is None:
    return None
  rings = molecule.GetRingInfo().AtomRings()
  largest = max((len(ring) for ring in rings), default=0)
  return MoleculeTerms(logp=Crippen.MolLogP(molecule),
                       sa=sascorer().calculateScore(molecule),
                       ring_penalty=max(largest - 6, 0))


@functools.lru_cache(maxsize=1 << 16)
def molecule_score(smiles: str) -> float | None:
  """Standardised logP - SA - ring penalty; None if RDKit rejects `smiles`."""
  terms = molecule_terms(smiles)
  return None if terms is None else terms.score


@functools.cache
def sascorer():
  """RDKit's Contrib/SA_Score/sascorer.py, loaded from the installed wheel."""
  from rdkit import RDConfig  # pylint: disable=g-import-not-at-top
  path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
  if not os.path.isfile(path):
    raise errors.UserError(f"RDKit's SA scorer {path} is missing; reinstall "
                           "rdkit from the pinned requirements.txt")
  spec = importlib.util.spec_from_file_location("rae_tf_sascorer", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module
