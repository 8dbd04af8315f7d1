"""The two GrammarRAE tasks: their data, validity and score; symbol sets.

A `Task` says where its strings come from, when a decoded string is valid
and how good it is. Bayesian optimisation minimises `Task.objective`:
  expressions  the fit score log(1 + mean min((f - y)^2, 1000)) as is (lower
               is better; unfinished or unparseable decodings score the
               worst, log 1001, as Kusner et al.);
  molecules    minus the penalised-logP score (higher is better); SMILES
               RDKit rejects (and unfinished decodings) are NaN: invalid.
Molecule samples are also measured with MOSES's metrics (`molecule_metrics`).
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
from rae_tf.grammar.decoding import stack as decoding
from rae_tf.grammar.languages import grammars
from rae_tf.grammar.measurements import molecule_metrics
from rae_tf.grammar.measurements import scores


@dataclasses.dataclass(frozen=True)
class Task:
  """One --task value.

  Attributes:
    load: config -> the task's strings (at most config.max_examples).
    score: string -> its score in the paper's sense, None if invalid.
    higher_is_better: the direction of `score`.
    worst_score: what an invalid string scores in the optimisation, or None
      to leave invalid points out (NaN objective).
    molecule_metrics: ({source: decoded samples}, training strings, test
      strings) -> {source: MOSES metrics}; None for tasks without molecules.
  """

  load: Callable[[config_lib.GrammarConfig], list[str]]
  score: Callable[[str], Optional[float]]
  higher_is_better: bool
  worst_score: Optional[float] = None
  molecule_metrics: Optional[Callable[[dict, list[str], list[str]],
                                      dict]] = None

  def is_valid(self, string: Optional[str]) -> bool:
    return string is not None and self.score(string) is not None

  def objective(self, string: Optional[str]) -> float:
    """The value Bayesian optimisation minimises; NaN marks invalid."""
    value = None if string is None else self.score(string)
    if value is None:
      value = math.nan if self.worst_score is None else self.worst_score
    return -value if self.higher_is_better else value


def _load_expressions(config: config_lib.GrammarConfig) -> list[str]:
  return datasets.expressions(config.max_examples, seed=config.seed)


def _load_molecules(config: config_lib.GrammarConfig) -> list[str]:
  path = config.smiles_file or datasets.moses_train_path()
  return datasets.read_smiles(path, config.max_examples)


def _expression_score(string: str) -> Optional[float]:
  """The fit score, None for strings that do not evaluate."""
  if scores.evaluate_expression(string) is None:
    return None
  return scores.expression_score(string)


TASKS: dict[str, Task] = {
    "expressions": Task(load=_load_expressions, score=_expression_score,
                        higher_is_better=False,
                        worst_score=scores.WORST_EXPRESSION_SCORE),
    "molecules": Task(load=_load_molecules, score=scores.molecule_score,
                      higher_is_better=True,
                      molecule_metrics=molecule_metrics.per_sample_set),
}

SYMBOLS: dict[str, Callable[[str], object]] = {
    "rules": lambda task: decoding.RuleSymbols(grammars.grammar_for(task)),
    "characters": lambda task: decoding.CharacterSymbols(
        characters.characters_for(task)),
}
