"""Stack decoding: always a string of the grammar, or None if unfinished;
draws follow the masked softmax."""

import numpy as np
import pytest
from scipy import stats

from rae_tf.grammar.decoding import stack as decoding
from rae_tf.grammar.decoding import symbols as symbols_lib
from rae_tf.grammar.languages import characters
from rae_tf.grammar.languages import grammars
import grammar_toy  # tests/grammar_toy.py


def logits_for(rules, num_rules=5, steps=10):
  """(1, T, R) logits whose argmax at step t is rules[t] (padding after)."""
  logits = np.zeros((1, steps, num_rules))
  for t in range(steps):
    logits[0, t, rules[t] if t < len(rules) else num_rules - 1] = 5.0
  return logits


def test_decodes_the_derivation_the_logits_spell():
  grammar = grammar_toy.ToyGrammar()
  for sentence in grammar_toy.SENTENCES:
    rules = grammar.to_rules(sentence)
    decoded, finished = decoding.decode_rules(logits_for(rules), grammar)
    assert finished.tolist() == [True]
    assert decoded[0, :len(rules)].tolist() == rules
    assert decoding.rules_to_strings(decoded, finished, grammar) == [sentence]


def test_argmax_is_taken_among_the_popped_symbols_rules_only():
  # Step 0 pops S; the logits favour T -> 'x' (rule 2), which S cannot use,
  # so the best S-rule, S -> T (rule 1, logit 1 > rule 0's 0), is taken.
  grammar = grammar_toy.ToyGrammar()
  logits = np.zeros((1, 10, 5))
  logits[0, :, 2] = 10.0
  logits[0, 0, 1] = 1.0
  decoded, finished = decoding.decode_rules(logits, grammar)
  assert decoded[0, :2].tolist() == [1, 2]  # S -> T, T -> 'x'
  assert (decoded[0, 2:] == grammar.padding_rule).all()
  assert finished.tolist() == [True]


def test_random_logits_decode_to_sentences_or_none():
  grammar = grammar_toy.ToyGrammar()
  logits = np.random.default_rng(0).normal(size=(500, 10, 5)) * 3
  for rng in (None, np.random.default_rng(1)):
    rules, finished = decoding.decode_rules(logits, grammar, rng)
    strings = decoding.rules_to_strings(rules, finished, grammar)
    assert 0 < finished.sum() < len(finished)  # both outcomes occur
    for string, row in zip(strings, rules):
      if string is None:
        continue
      assert grammar_toy.is_sentence(string), string
      derivation = grammar.to_rules(string)  # unambiguous: the same rules
      assert row[:len(derivation)].tolist() == derivation
      assert (row[len(derivation):] == grammar.padding_rule).all()


def test_a_sequence_still_expanding_after_t_steps_is_none():
  grammar = grammar_toy.ToyGrammar()
  logits = np.zeros((1, 10, 5))
  logits[0, :, 0] = 5.0  # S -> S + T forever
  rules, finished = decoding.decode_rules(logits, grammar)
  assert finished.tolist() == [False]
  assert decoding.rules_to_strings(rules, finished, grammar) == [None]


def test_sampling_follows_the_masked_softmax():
  # Popping S with logits (log 3, 0) for rules 0 and 1: P(rule 0) = 3/4.
  grammar = grammar_toy.ToyGrammar()
  logits = np.zeros((4000, 10, 5))
  logits[:, 0, 0] = np.log(3.0)
  logits[:, 0, 2] = 50.0  # a T-rule: must never be chosen for S
  rules, _ = decoding.decode_rules(logits, grammar, np.random.default_rng(0))
  assert set(rules[:, 0].tolist()) == {0, 1}
  assert abs((rules[:, 0] == 0).mean() - 0.75) < 0.03


@pytest.mark.parametrize("task", ["expressions", "molecules"])
def test_finished_decodings_parse_back_to_the_same_rules(task):
  # Logits favouring rules with few right-hand non-terminals, so that many
  # random derivations finish within T steps.
  grammar = grammars.grammar_for(task)
  symbols = symbols_lib.RuleSymbols(grammar)
  pushes = np.array([len(r) for r in grammar.rhs_nonterminals])
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(300, grammar.max_length, grammar.num_rules)) * 2
  logits -= 1.5 * pushes
  rules, strings = symbols.decode(logits, rng)
  finished = [i for i, s in enumerate(strings) if s is not None]
  assert len(finished) > 30
  for i in finished:
    derivation = grammar.to_rules(strings[i])
    assert rules[i, :len(derivation)].tolist() == derivation


def test_draw_frequencies_match_the_masked_softmax():
  # Step 0 pops S, whose rules are 0 and 1; logits (1.0, -0.5) and a large
  # logit on rule 2 (a T-rule) that the mask must remove. Masked softmax:
  # p0 = e^1 / (e^1 + e^-0.5) = 0.8176, p1 = 0.1824. 10,000 draws of one
  # code; chi-square with 1 degree of freedom.
  grammar = grammar_toy.ToyGrammar()
  logits = np.zeros((1, 10, 5))
  logits[0, 0, :3] = (1.0, -0.5, 40.0)
  rules, _ = decoding.decode_rules(logits, grammar, np.random.default_rng(0),
                                   draws=10_000)
  counts = np.bincount(rules[:, 0], minlength=5)
  assert counts[2:].sum() == 0  # never outside S's rules
  expected = 10_000 * np.exp([1.0, -0.5]) / np.exp([1.0, -0.5]).sum()
  assert stats.chisquare(counts[:2], expected).pvalue > 0.01


def test_draws_never_leave_the_mask_of_the_popped_symbol():
  grammar = grammars.grammar_for("molecules")
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(3, 40, grammar.num_rules)) * 5
  rules, _ = decoding.decode_rules(logits, grammar, rng, draws=200)
  # Replay each row's stack and check every rule against its popped symbol.
  for row in rules[::37]:
    stack = [grammar.start]
    for rule in row:
      top = stack.pop() if stack else grammar.nothing
      assert grammar.masks[top, rule] == 1
      stack += list(grammar.rhs_nonterminals[rule])[::-1]


def test_draws_are_rows_code_by_code_and_seeded():
  # Code 0 favours S -> T then T -> 'x' ("x"), code 1 S -> S + T first.
  grammar = grammar_toy.ToyGrammar()
  logits = np.full((2, 10, 5), -30.0)
  logits[:, :, 4] = 0.0
  logits[0, 0, 1], logits[0, 1, 2] = 30.0, 30.0
  logits[1, 0, 0], logits[1, 1:, 1], logits[1, 1:, 2] = 30.0, 30.0, 30.0
  first, _ = decoding.decode_rules(logits, grammar, np.random.default_rng(5),
                                   draws=3)
  again, _ = decoding.decode_rules(logits, grammar, np.random.default_rng(5),
                                   draws=3)
  np.testing.assert_array_equal(first, again)
  assert (first[:3, 0] == 1).all() and (first[3:, 0] == 0).all()
  with pytest.raises(ValueError, match="draws must be 1 for greedy"):
    decoding.decode_rules(logits, grammar, None, draws=2)


def test_character_draws_follow_the_softmax():
  vocabulary = characters.characters_for("expressions")
  symbols = symbols_lib.CharacterSymbols(vocabulary)
  logits = np.full((1, vocabulary.max_length, vocabulary.num_characters),
                   -50.0)
  logits[0, 1:, vocabulary.padding] = 0.0  # padding after step 0
  logits[0, 0, :2] = (np.log(3.0), 0.0)  # "x" 3/4, "+" 1/4 at step 0
  tokens, strings = symbols.decode(logits, np.random.default_rng(2),
                                   draws=4000)
  assert set(strings) == {"x", "+"}
  assert abs(np.mean(tokens[:, 0] == 0) - 0.75) < 0.03
