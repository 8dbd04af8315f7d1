"""What codes drawn from a density decode to: valid shares and sample sets.

For a density (N(0, I) "prior", or the ex-post GMM) and a decoder:
  validity     `num_codes` codes; the valid share of their greedy
               decodings, and of `draws` sampled decodings per code (the
               per-draw validity of Kusner et al.'s prior protocol);
  sample_set   one sampled decoding per code, codes drawn until `target`
               strings are valid (or `max_codes` codes are used): the
               model's samples, measured with MOSES's metrics and the FCD
               at a fixed number of valid molecules, so that models with
               different valid shares are compared at the same N.
"""

from __future__ import annotations

from typing import Callable, Optional

import keras
import numpy as np

from rae_tf import sampler as sampler_lib
from rae_tf.grammar.decoding import draws as draws_lib

IsValid = Callable[[Optional[str]], bool]
_CHUNK = 5_000  # codes decoded at a time in `sample_set`


def valid_mask(strings: np.ndarray, is_valid: IsValid) -> np.ndarray:
  """Boolean array of `strings`' shape; `is_valid` called once per string."""
  cache = {None: False}
  for string in np.asarray(strings, object).ravel():
    if string not in cache:
      cache[string] = bool(is_valid(string))
  return np.asarray([cache[s] for s in np.asarray(strings, object).ravel()],
                    bool).reshape(np.shape(strings))


def draw_codes(density: sampler_lib.GaussianMixture, count: int,
               seed: int) -> np.ndarray:
  """(count, d) float32 codes of a density, reproducible from `seed`."""
  return np.asarray(sampler_lib.MixtureSampler.from_mixture(density)
                    .sample(count, seed))


def validity(decoder: keras.Model, codes: np.ndarray, symbols,
             is_valid: IsValid, draws: int,
             rng: np.random.Generator) -> dict:
  """{"greedy", "per_draw": valid shares, "codes", "draws"} of (N, d) codes."""
  greedy = draws_lib.decode_codes(decoder, codes, symbols)
  sampled = draws_lib.decode_codes(decoder, codes, symbols, rng, draws)
  return {"greedy": float(valid_mask(greedy, is_valid).mean()),
          "per_draw": float(valid_mask(sampled, is_valid).mean()),
          "codes": len(codes), "draws": draws}


def sample_set(decoder: keras.Model, codes: np.ndarray, symbols,
               is_valid: IsValid, target: int,
               rng: np.random.Generator) -> list[Optional[str]]:
  """One sampled decoding per code, in order, until `target` are valid.

  Args:
    decoder: (B, d) -> (B, T, S) logits.
    codes: (M, d) codes to use in order (M bounds the cost).
    symbols: decodes logits.
    is_valid: string or None -> bool.
    target: valid strings wanted.
    rng: the draws.

  Returns:
    The strings of the codes used (None for unfinished ones): all M if fewer
    than `target` are valid, else ending with the target-th valid one.
  """
  strings, valid = [], 0
  for i in range(0, len(codes), _CHUNK):
    decoded = draws_lib.decode_codes(decoder, codes[i:i + _CHUNK], symbols,
                                     rng)[:, 0]
    mask = valid_mask(decoded, is_valid)
    if valid + mask.sum() >= target:
      end = int(np.flatnonzero(mask)[target - valid - 1]) + 1
      return strings + decoded[:end].tolist()
    strings += decoded.tolist()
    valid += int(mask.sum())
  return strings
