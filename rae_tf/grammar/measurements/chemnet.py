"""ChemNet (Preuer et al. 2018), the network of the Frechet ChemNet Distance.

Rebuilt in Keras from `fcd==1.2.2` (`fcd/utils.py`, `load_imported_model`),
whose `ChemNet_v0.13_pretrained.pt` `convert_chemnet` turns into Keras
weights once. A SMILES string s becomes the tokens of s + "." ("." ends it),
the multi-character tokens Cl, Br and Si matched first and any character
outside the 35-token vocabulary mapped to "X"; one-hot rows (L, 35) with
L = max(350, longest string + 1) over the whole list (all-zero rows pad;
nothing is masked, so L changes the output, as in the package), divided by
35. Then

  Conv1D 32 (kernel 4, stride 2, "same", no bias, SELU)      (L/2, 32)
  Conv1D 32 (kernel 4, stride 2, "same", no bias, SELU)      (L/4, 32)
  LSTM 128, reading the sequence backwards, all outputs       (L/4, 128)
  LSTM 512, reading those backwards, the last output          (512,)

The torch model flips its input before each LSTM and does not flip LSTM 1's
outputs back, which is what Keras' `go_backwards=True` computes. The 512-d
output is the FCD's feature vector.
"""

from __future__ import annotations

import os
import re
from typing import Optional, Sequence

import keras
import numpy as np

from rae_tf import errors
from rae_tf.evaluation import inception

VOCABULARY = ("C", "N", "O", "H", "F", "Cl", "P", "B", "Br", "S", "I", "Si",
              "#", "(", ")", "+", "-", "1", "2", "3", "4", "5", "6", "7", "8",
              "=", "[", "]", "@", "c", "n", "o", "s", "X", ".")
UNKNOWN = VOCABULARY.index("X")
END = "."
DEFAULT_LENGTH = 350
FEATURE_DIM = 512
WEIGHTS_FILENAME = "chemnet_v0.13.weights.h5"
CONVERT_COMMAND = "python -m rae_tf.grammar.measurements.convert_chemnet"
_INDEX = {token: i for i, token in enumerate(VOCABULARY)}
# Longer tokens first (the package sorts by name, then by length).
_TOKEN = re.compile("|".join(
    re.escape(t) for t in sorted(sorted(VOCABULARY), key=len, reverse=True))
                    + "|.", re.DOTALL)
_BATCH = 256
_CHUNK = 16 * _BATCH  # strings one-hot encoded at a time (~200 MB)


class WeightsError(errors.UserError, OSError):
  """The converted ChemNet weights are missing or unreadable."""


def weights_path(cache_dir: Optional[str] = None) -> str:
  """Where `convert_chemnet` writes the Keras weights ($RAE_TF_CACHE)."""
  return os.path.join(cache_dir or inception.default_cache_dir(),
                      WEIGHTS_FILENAME)


def token_ids(smiles: str) -> list[int]:
  """Vocabulary indices of the tokens of `smiles` + ".", unknown -> X."""
  return [_INDEX.get(t, UNKNOWN) for t in _TOKEN.findall(smiles + END)]


def padded_length(smiles: Sequence[str]) -> int:
  """L = max(350, longest string + 1): the package's rule for one list."""
  return max([DEFAULT_LENGTH] + [len(s) + 1 for s in smiles])


def one_hot(smiles: Sequence[str], length: int) -> np.ndarray:
  """(N, length, 35) float32 one-hot tokens divided by 35, zero-padded."""
  array = np.zeros((len(smiles), length, len(VOCABULARY)), np.float32)
  for row, string in enumerate(smiles):
    ids = token_ids(string)
    array[row, np.arange(len(ids)), ids] = 1.0
  return array / len(VOCABULARY)


def build_chemnet() -> keras.Model:
  """ChemNet: (B, L, 35) scaled one-hot -> (B, 512) features (untrained)."""
  tokens = keras.Input(shape=(None, len(VOCABULARY)), name="tokens")
  x = tokens
  for name in ("conv_1", "conv_2"):
    x = keras.layers.Conv1D(32, 4, strides=2, padding="same", use_bias=False,
                            activation="selu", name=name)(x)
  x = keras.layers.LSTM(128, return_sequences=True, go_backwards=True,
                        name="lstm_1")(x)
  features = keras.layers.LSTM(FEATURE_DIM, go_backwards=True,
                               name="lstm_2")(x)
  model = keras.Model(tokens, features, name="chemnet")
  model.trainable = False
  return model


def load_chemnet(path: Optional[str] = None) -> keras.Model:
  """ChemNet with the converted weights of `path` (default `weights_path()`).

  Raises:
    WeightsError: the file does not exist yet, or cannot be loaded.
  """
  path = path or weights_path()
  if not os.path.isfile(path):
    raise WeightsError(
        f"ChemNet weights not found at {path}: convert them once with "
        f"`{CONVERT_COMMAND}` (./run.sh does) after installing "
        "requirements-fid.txt and requirements-fid-nodeps.txt, or set "
        f"${inception.CACHE_ENV} to the directory that holds "
        f"{WEIGHTS_FILENAME}")
  model = build_chemnet()
  try:
    model.load_weights(path)
  except (OSError, ValueError) as e:
    raise WeightsError(f"cannot load the ChemNet weights {path}: {e}; convert "
                       f"them again with `{CONVERT_COMMAND} --overwrite`") from e
  return model


def features(model: keras.Model, smiles: Sequence[str]) -> np.ndarray:
  """(N, 512) float32 ChemNet features of SMILES strings, as the package's
  `get_predictions` (one padded length L for the whole list)."""
  if not len(smiles):
    return np.zeros((0, FEATURE_DIM), np.float32)
  length = padded_length(smiles)
  # `predict` runs the LSTMs as one compiled graph: 2.4x an eager call.
  return np.concatenate([
      model.predict(one_hot(smiles[i:i + _CHUNK], length), batch_size=_BATCH,
                    verbose=0)
      for i in range(0, len(smiles), _CHUNK)])
