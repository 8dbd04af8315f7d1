"""Character vocabularies of the CVAE baseline."""

import logging

import numpy as np
import pytest

from rae_tf.grammar.languages import characters
from rae_tf.grammar.languages import datasets


@pytest.mark.parametrize("task, size, max_length", [
    ("expressions", 15, 19), ("molecules", 36, 120)])
def test_vocabulary_sizes(task, size, max_length):
  vocabulary = characters.characters_for(task)
  assert vocabulary.num_characters == size
  assert vocabulary.max_length == max_length
  assert vocabulary.characters[vocabulary.padding] == " "
  assert len(set(vocabulary.characters)) == size
  assert all(len(c) == 1 for c in vocabulary.characters)


@pytest.mark.parametrize("task, strings", [
    ("expressions", ["x", "sin(x)+exp(2)*3/1", "x+x+sin(x)+sin(x/x)"]),
    ("molecules", ["C", "Clc1ccc(Br)cc1", "C[C@@H](N)C(=O)[O-]", "F/C=C\\F",
                   "C9CCCCC9", "CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1"]),
])
def test_round_trip(task, strings):
  vocabulary = characters.characters_for(task)
  ids, kept = vocabulary.to_token_array(strings)
  assert ids.shape == (len(strings), vocabulary.max_length)
  np.testing.assert_array_equal(kept, np.arange(len(strings)))
  for row, one_hot, string in zip(ids, vocabulary.one_hot(strings)[0],
                                  strings):
    assert vocabulary.to_string(row) == string
    assert vocabulary.to_string(one_hot) == string
    assert (row[len(string):] == vocabulary.padding).all()


def test_one_hot_skips_unknown_and_long_strings(caplog):
  vocabulary = characters.characters_for("expressions")
  strings = ["x+1", "x-1", "x + 1", "x+x+x+x+x+x+x+x+x+x+x", "sin(x)"]
  with caplog.at_level(logging.WARNING):
    one_hot, kept = vocabulary.one_hot(strings)
  assert one_hot.shape == (2, 19, 15) and one_hot.dtype == np.float32
  np.testing.assert_array_equal(kept, [0, 4])
  np.testing.assert_array_equal(one_hot.sum(axis=-1), 1.0)
  messages = [r.getMessage() for r in caplog.records]
  assert len(messages) == 1
  # "x-1" has '-', "x + 1" the padding space; 21 characters is too long.
  assert ("skipped 3 of 5 strings: 2 with unknown characters, 1 longer than "
          "19 characters") in messages[0]


def test_to_string_stops_at_padding():
  vocabulary = characters.characters_for("expressions")
  x, plus, pad = (vocabulary.characters.index(c) for c in "x+ ")
  assert vocabulary.to_string([x, plus, x, pad, x]) == "x+x"
  assert vocabulary.to_string([pad, x]) == ""


def test_every_generated_expression_fits():
  # The CVAE and the grammar models see the same expression set.
  strings = datasets.expressions(max_count=5000)
  _, kept = characters.characters_for("expressions").to_token_array(strings)
  assert len(kept) == len(strings)


def test_unknown_task():
  with pytest.raises(ValueError, match=r"\['expressions', 'molecules'\]"):
    characters.characters_for("proteins")
