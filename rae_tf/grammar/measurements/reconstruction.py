"""How well a model reconstructs held-out strings: per token and exactly.

Three measurements of N held-out one-hot sequences x (B, T, S):
  token accuracy    share of the decisions at which the argmax of the
                    decoder's logits, masked to the symbols of the true
                    symbol's left-hand side (what the loss scores; no mask
                    for characters), is the true symbol. Decisions are the
                    steps of the string itself (padding excluded) where the
                    mask leaves a choice: a non-terminal with one rule is
                    always "right" and would only inflate the share. A
                    derivation has ~100 rules, so this is where learning
                    shows long before whole strings come back;
  greedy accuracy   share of strings whose greedy decoding of E(x) is the
                    string itself;
  sampled accuracy  Kusner et al.'s protocol: each string encoded `encodes`
                    times and each code decoded `draws` times (sampled,
                    `draws.decode_codes`); per string the share of the
                    encodes x draws decodings equal to it, then the mean
                    over strings with its 95% interval. GRAE's encoder is
                    deterministic, so its encodes coincide; the VAEs encode
                    z = mu + sigma * eps with their training noise (eps ~
                    N(0, 0.01^2 I), Kusner et al.'s epsilon_std).
"""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np

from rae_tf.grammar.decoding import draws as draws_lib
from rae_tf.grammar.measurements import intervals

_ENCODE_BATCH = 500


def encode(model: keras.Model, sequences: np.ndarray,
           rng: Optional[np.random.Generator] = None) -> np.ndarray:
  """(N, d) float32 codes; with `rng`, a VAE's codes are posterior draws."""
  codes = []
  for i in range(0, len(sequences), _ENCODE_BATCH):
    batch = sequences[i:i + _ENCODE_BATCH]
    if rng is None or not hasattr(model, "posterior"):
      codes.append(np.asarray(model.encode(batch, training=False)))
      continue
    mean, log_variance = (np.asarray(t, np.float32) for t in
                          model.posterior(batch, training=False))
    noise = rng.normal(size=mean.shape) * model.NOISE_STDDEV
    codes.append((mean + np.exp(0.5 * log_variance) * noise)
                 .astype(np.float32))
  return np.concatenate(codes)


def token_accuracy(model: keras.Model, sequences: np.ndarray,
                   symbols) -> float:
  """Share of decisions (module docstring) whose masked argmax is right."""
  logits = draws_lib.decoder_logits(model.decoder, encode(model, sequences))
  truth = sequences.argmax(axis=-1)  # (N, T)
  allowed = np.asarray(symbols.allowed)[truth] > 0  # (N, T, S)
  predicted = np.where(allowed, logits, -np.inf).argmax(axis=-1)
  decisions = (truth != symbols.padding) & (allowed.sum(axis=-1) > 1)
  return float(np.mean(predicted[decisions] == truth[decisions]))


def true_strings(sequences: np.ndarray, symbols) -> np.ndarray:
  """(N,) object array: the string each one-hot sequence spells."""
  _, strings = symbols.decode(sequences)
  result = np.empty(len(strings), object)
  result[:] = strings
  return result


def greedy_accuracy(model: keras.Model, sequences: np.ndarray,
                    symbols) -> float:
  """Share of strings whose greedy decoding of E(x) is the string."""
  decoded = draws_lib.decode_codes(model.decoder, encode(model, sequences),
                                   symbols)[:, 0]
  return float(np.mean(decoded == true_strings(sequences, symbols)))


def sampled_accuracy(model: keras.Model, sequences: np.ndarray, symbols,
                     encodes: int, draws: int,
                     rng: np.random.Generator) -> dict:
  """Kusner et al.'s reconstruction accuracy with its 95% interval.

  Args:
    model: a GrammarRAE or GrammarVAE.
    sequences: (N, T, S) one-hot held-out strings.
    symbols: their symbol set.
    encodes: encodings per string.
    draws: sampled decodings per encoding.
    rng: encoding noise and draws.

  Returns:
    `intervals.mean_interval` of the per-string accuracies (n = N strings),
    plus "encodes" and "draws".
  """
  truth = true_strings(sequences, symbols)
  stochastic = hasattr(model, "posterior")
  hits = np.zeros(len(sequences))
  for _ in range(encodes if stochastic else 1):
    codes = encode(model, sequences, rng)
    decoded = draws_lib.decode_codes(
        model.decoder, codes, symbols, rng,
        draws if stochastic else encodes * draws)  # (N, draws)
    hits += np.sum(decoded == truth[:, None], axis=1)
  return {**intervals.mean_interval(hits / (encodes * draws)),
          "encodes": encodes, "draws": draws}
