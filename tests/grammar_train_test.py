"""Pieces of the GrammarRAE run: split, tasks' objectives."""

import math

import numpy as np
import pytest

from rae_tf.grammar.measurements import scores
from rae_tf.grammar import tasks
from rae_tf.grammar import train


def test_split_is_a_seeded_partition_into_three_disjoint_parts():
  parts = train.split(100, 0.1, 0.2, seed=3)
  # 10 test strings, then 20% of the other 90 (18) for validation.
  assert [len(part) for part in parts] == [72, 18, 10]
  assert sorted(np.concatenate(parts)) == list(range(100))
  again = train.split(100, 0.1, 0.2, seed=3)
  assert [a.tolist() for a in again] == [p.tolist() for p in parts]
  assert [len(part) for part in train.split(3, 0.01, 0.01, seed=0)] == [
      1, 1, 1]
  assert [len(part) for part in train.split(3, 0.99, 0.99, seed=0)] == [
      1, 1, 1]
  with pytest.raises(train.EncodingError, match="at least 3"):
    train.split(2, 0.1, 0.1, seed=0)


def test_expression_objective_is_the_score_and_invalid_is_the_worst():
  task = tasks.TASKS["expressions"]
  assert task.objective(scores.TARGET_EXPRESSION) == 0.0
  # Invalid strings have no objective; BO gives them Kusner et al.'s worst.
  assert math.isnan(task.objective(None)) and math.isnan(task.objective("x+"))
  assert task.worst_score == math.log(1001)
  assert not task.is_valid("x+") and not task.is_valid(None)
  assert task.is_valid("sin(x)")


def test_molecule_objective_is_minus_the_score_and_invalid_is_nan():
  task = tasks.TASKS["molecules"]
  assert task.objective("CCO") == -scores.molecule_score("CCO")
  assert math.isnan(task.objective("C1CC")) and math.isnan(task.objective(None))
  assert task.is_valid("CCO") and not task.is_valid("C1CC")
  assert not task.is_valid("")
  assert task.score_of_objective(task.objective("CCO")) == (
      scores.molecule_score("CCO"))


def test_kusners_draws_per_code():
  # run_bo.py: 500 decode attempts for molecules, 25 for expressions.
  assert tasks.TASKS["molecules"].draws == 500
  assert tasks.TASKS["expressions"].draws == 25
