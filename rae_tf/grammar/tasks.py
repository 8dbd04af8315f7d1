"""The two GrammarRAE tasks: their data, validity and score; symbol sets.

A `Task` says where its strings come from, when a decoded string is valid
and how good it is. Bayesian optimisation minimises `Task.objective`:
  expressions  the fit score log(1 + mean min((f - y)^2, 1000)) as is (lower
               is better; a proposal with no valid draw scores the worst,
               log 1001, as Kusner et al.);
  molecules    minus the penalised-logP score (higher is better); a proposal
               with no valid draw gets the worst value of the training set.
Validity is cheap (a parse, or RDKit accepting the SMILES), so it can judge
every distinct string of 500 draws per code. Molecule samples are also
measured with MOSES's metrics (`molecule_metrics`) and the FCD.
`SYMBOLS` maps `models.ModelSpec.symbols` to the encoder of a task's
strings: production rules of its grammar, or characters.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Optional

from rae_tf.grammar.languages import characters
from rae_tf.grammar import config as config_lib
from rae_tf.grammar.languages import datasets
from rae_tf.grammar.decoding import symbols
from rae_tf.grammar.languages import grammars
from rae_tf.grammar.measurements import scores


@dataclasses.dataclass(frozen=True)
class Task:
  """One --task value.

  Attributes:
    load: config -> the task's strings (at most config.max_examples).
    valid: string -> whether it is valid (a finished decoding is a string).
    score: valid string -> its score in the paper's sense.
    higher_is_better: the direction of `score`.
    draws: decodings per code in the sampled protocols (Kusner et al.'s BO:
      500 for molecules, 25 for expressions).
    worst_score: what a proposal with no valid draw scores in the
      optimisation; None: the worst objective value of the training set.
    molecules: whether the strings are molecules (MOSES metrics, FCD).
  """

  load: Callable[[config_lib.GrammarConfig], list[str]]
  valid: Callable[[str], bool]
  score: Callable[[str], Optional[float]]
  higher_is_better: bool
  draws: int
  worst_score: Optional[float] = None
  molecules: bool = False

  def is_valid(self, string: Optional[str]) -> bool:
    return bool(string) and self.valid(string)

  def objective_of_score(self, score: float) -> float:
    return -score if self.higher_is_better else score

  score_of_objective = objective_of_score  # the map is its own inverse

  def objective(self, string: Optional[str]) -> float:
    """The value Bayesian optimisation minimises; NaN marks invalid."""
    score = self.score(string) if self.is_valid(string) else None
    return math.nan if score is None else self.objective_of_score(score)


def _load_expressions(config: config_lib.GrammarConfig) -> list[str]:
  return datasets.expressions(config.max_examples, seed=config.seed)


def _load_molecules(config: config_lib.GrammarConfig) -> list[str]:
  path = config.smiles_file or datasets.moses_train_path()
  return datasets.read_smiles(path, config.max_examples)


TASKS: dict[str, Task] = {
    "expressions": Task(load=_load_expressions,
                        valid=scores.is_expression,
                        score=scores.expression_score,
                        higher_is_better=False, draws=25,
                        worst_score=scores.WORST_EXPRESSION_SCORE),
    "molecules": Task(load=_load_molecules, valid=scores.is_molecule,
                      score=scores.molecule_score, higher_is_better=True,
                      draws=500, molecules=True),
}

SYMBOLS: dict[str, Callable[[str], object]] = {
    "rules": lambda task: symbols.RuleSymbols(grammars.grammar_for(task)),
    "characters": lambda task: symbols.CharacterSymbols(
        characters.characters_for(task)),
}
