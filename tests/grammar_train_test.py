"""Pieces of the GrammarRAE run: split, tasks' objectives."""

import math

import numpy as np

from rae_tf.grammar.measurements import scores
from rae_tf.grammar import tasks
from rae_tf.grammar import train


def test_split_is_a_seeded_partition_with_both_parts_non_empty():
  train_index, test_index = train.split(10, 0.1, seed=3)
  assert sorted(np.concatenate([train_index, test_index])) == list(range(10))
  assert len(test_index) == 1
  again = train.split(10, 0.1, seed=3)
  assert [a.tolist() for a in again] == [train_index.tolist(),
                                         test_index.tolist()]
  assert [len(part) for part in train.split(2, 0.01, seed=0)] == [1, 1]
  assert [len(part) for part in train.split(2, 0.99, seed=0)] == [1, 1]


def test_expression_objective_is_the_score_and_invalid_is_the_worst():
  task = tasks.TASKS["expressions"]
  assert task.objective(scores.TARGET_EXPRESSION) == 0.0
  assert task.objective(None) == task.objective("x+") == math.log(1001)
  assert not task.is_valid("x+") and not task.is_valid(None)
  assert task.is_valid("sin(x)")


def test_molecule_objective_is_minus_the_score_and_invalid_is_nan():
  task = tasks.TASKS["molecules"]
  assert task.objective("CCO") == -scores.molecule_score("CCO")
  assert math.isnan(task.objective("C1CC")) and math.isnan(task.objective(None))
  assert task.is_valid("CCO") and not task.is_valid("C1CC")
