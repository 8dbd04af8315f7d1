"""Encoder / decoder of the Grammar VAE (Kusner et al. 2017).

Both tasks share one layout; the sizes come from `ARCHITECTURES` (PAPER.md,
"GrammarRAE"). `width` scales the GRUs only, where the cost is: the encoder
is Kusner et al.'s at every width (issue #23: shrunk with the GRUs to
2/2/2 filters and 109 units at width 0.25, it left 59.6 nats of held-out
loss after 5 epochs on molecules, against 54.7 at full size, and saved
little time):

  encoder: one-hot (B, T, S) -> Conv1D f1 (k1) [-> BN] -> Conv1D f2 (k2)
           [-> BN] -> Conv1D f3 (k3) [-> BN] -> flatten -> Dense(hidden, ReLU)
           -> Dense(d) codes (and, for the VAEs, a linear log sigma^2 head)
  decoder: (B, d) codes [-> BN] -> Dense(d, ReLU) -> RepeatVector(T)
           -> 3 x GRU(units, return_sequences) -> Dense(S) logits (B, T, S)

As Kusner et al.'s `models/model_eq.py` and `models/model_zinc.py`: the
expression encoder has BatchNormalization after each conv, the molecule
encoder none; their expression VAEs also normalise z before the decoder's
first Dense (`input_batch_norm`), their molecule VAEs do not.

S is the number of symbols: production rules (GVAE, GRAE) or characters
(CVAE). Convs use ReLU and "valid" padding, as Kusner et al.; the decoder
returns unnormalised logits, which the losses mask (models.py) and the
decoders mask again symbol by symbol (decoding.py).
"""

from __future__ import annotations

import dataclasses

import keras

from rae_tf import networks as image_networks


@dataclasses.dataclass(frozen=True)
class Architecture:
  """Layer sizes of one task at width 1.0."""

  conv_filters: tuple[int, int, int]
  conv_kernels: tuple[int, int, int]
  hidden_units: int  # the Dense after the convs
  gru_units: int
  latent_dim: int  # the paper's d
  encoder_batch_norm: bool  # BN after each conv (Kusner et al.'s nets)


ARCHITECTURES: dict[str, Architecture] = {
    "expressions": Architecture(conv_filters=(2, 3, 4), conv_kernels=(2, 3, 4),
                                hidden_units=100, gru_units=100,
                                latent_dim=25, encoder_batch_norm=True),
    "molecules": Architecture(conv_filters=(9, 9, 10), conv_kernels=(9, 9, 11),
                              hidden_units=435, gru_units=501, latent_dim=56,
                              encoder_batch_norm=False),
}


def get_architecture(task: str) -> Architecture:
  if task not in ARCHITECTURES:
    raise ValueError(
        f"--task must be one of {sorted(ARCHITECTURES)}; got {task!r}")
  return ARCHITECTURES[task]


def build_encoder(task: str,
                  sequence_length: int,
                  num_symbols: int,
                  latent_dim: int,
                  variational: bool = False,
                  name: str = "encoder") -> keras.Model:
  """Builds E: (B, T, S) one-hot sequences -> codes.

  Args:
    task: key of `ARCHITECTURES`.
    sequence_length: T.
    num_symbols: S (rules or characters).
    latent_dim: d.
    variational: add the VAEs' linear log sigma^2 head (Kusner et al.'s
      `z_log_var`: a Dense of the hidden features, no bound).
    name: model name.

  Returns:
    A functional keras.Model: (B, d) float32 codes, or {"mean": (B, d),
    "log_variance": (B, d)} when `variational`.

  Raises:
    ValueError: the convolutions do not fit in `sequence_length`.
  """
  arch = get_architecture(task)
  if sequence_length < sum(arch.conv_kernels) - 2:
    raise ValueError(
        f"sequence length {sequence_length} is shorter than the receptive "
        f"field of the {task} encoder ({sum(arch.conv_kernels) - 2} steps)")
  sequences = keras.Input(shape=(sequence_length, num_symbols),
                          name="sequences")
  x = sequences
  for filters, kernel in zip(arch.conv_filters, arch.conv_kernels):
    x = keras.layers.Conv1D(filters, kernel, activation="relu")(x)
    if arch.encoder_batch_norm:
      x = keras.layers.BatchNormalization(
          momentum=image_networks.BATCH_NORM_MOMENTUM)(x)
  x = keras.layers.Flatten()(x)
  features = keras.layers.Dense(arch.hidden_units, activation="relu")(x)
  # float32 codes under a mixed policy: the ex-post GMM and the latent
  # terms take them as they are.
  mean = keras.layers.Dense(latent_dim, dtype="float32", name="mean")(features)
  if not variational:
    return keras.Model(sequences, mean, name=name)
  return keras.Model(
      sequences,
      {"mean": mean,
       "log_variance": keras.layers.Dense(
           latent_dim, dtype="float32", name="log_variance")(features)},
      name=name)


def build_decoder(task: str,
                  sequence_length: int,
                  num_symbols: int,
                  latent_dim: int,
                  width: float = 1.0,
                  input_batch_norm: bool = False,
                  name: str = "decoder") -> keras.Model:
  """Builds D: (B, d) codes -> (B, T, S) per-step logits.

  Args:
    task: key of `ARCHITECTURES`.
    sequence_length: T.
    num_symbols: S.
    latent_dim: d.
    width: multiplier of the GRU units.
    input_batch_norm: BatchNormalization on z before the first Dense (Kusner
      et al.'s expression VAEs).
    name: model name.

  Returns:
    A functional keras.Model with float32 logits (no softmax).
  """
  arch = get_architecture(task)
  codes = keras.Input(shape=(latent_dim,), name="codes")
  x = codes
  if input_batch_norm:
    x = keras.layers.BatchNormalization(
        momentum=image_networks.BATCH_NORM_MOMENTUM)(x)
  x = keras.layers.Dense(latent_dim, activation="relu")(x)
  x = keras.layers.RepeatVector(sequence_length)(x)  # (B, T, d)
  for _ in range(3):
    x = keras.layers.GRU(image_networks.scaled(arch.gru_units, width),
                         return_sequences=True)(x)
  logits = keras.layers.Dense(num_symbols, dtype="float32", name="logits")(x)
  return keras.Model(codes, logits, name=name)


def decoder_kernels(decoder: keras.Model) -> list:
  """The kernels of every decoder layer, recurrent ones included.

  `rae_tf.networks.decoder_kernels` looks for a `kernel` attribute, which a
  Keras GRU keeps on its cell; here the input and recurrent kernels of the
  GRU cells count too (biases and BN parameters do not).
  """
  kernels = []
  for layer in decoder.layers:
    cell = getattr(layer, "cell", layer)
    for attribute in ("kernel", "recurrent_kernel"):
      if hasattr(cell, attribute):
        kernels.append(getattr(cell, attribute))
  return kernels
