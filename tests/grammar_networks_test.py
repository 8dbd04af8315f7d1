"""Shapes and parameter counts of the Grammar VAE nets."""

import keras
import numpy as np
import pytest

from rae_tf.grammar import config as grammar_config
from rae_tf.grammar.models import autoencoders
from rae_tf.grammar.models import networks


def test_expressions_nets_at_width_one_have_the_hand_counted_parameters():
  # Encoder on (15, 12) one-hot rules, valid convs 15 -> 14 -> 12 -> 9 steps:
  #   conv 12*2*2+2 = 50, BN 8; conv 2*3*3+3 = 21, BN 12; conv 3*4*4+4 = 52,
  #   BN 16; Dense 9*4*100+100 = 3700; Dense 100*25+25 = 2525; sum 6384.
  encoder = networks.build_encoder("expressions", 15, 12, 25)
  assert encoder.count_params() == 6384
  # Decoder: Dense 25*25+25 = 650; GRU(100) with reset_after (two biases):
  #   3*(25*100 + 100*100 + 2*100) = 38100, then 2 x 3*(2*100*100 + 200)
  #   = 2 x 60600; Dense 100*12+12 = 1212; sum 161162.
  decoder = networks.build_decoder("expressions", 15, 12, 25)
  assert decoder.count_params() == 161162


@pytest.mark.parametrize("task, length, symbols, latent", [
    ("expressions", 15, 12, 25), ("molecules", 277, 76, 56)])
def test_shapes_per_task(task, length, symbols, latent):
  encoder = networks.build_encoder(task, length, symbols, latent)
  decoder = networks.build_decoder(task, length, symbols, latent, width=0.1)
  sequences = np.zeros((2, length, symbols), np.float32)
  assert encoder(sequences).shape == (2, latent)
  assert decoder(np.zeros((2, latent), np.float32)).shape == (
      2, length, symbols)


def test_variational_encoder_has_a_linear_log_variance_head():
  # Kusner et al.'s z_log_var: Dense(d) of the hidden features, no bound, so
  # it adds exactly 100*25+25 = 2525 parameters to the 6384 above.
  encoder = networks.build_encoder("expressions", 15, 12, 25,
                                   variational=True)
  assert encoder.count_params() == 6384 + 2525
  head = encoder.get_layer("log_variance")
  assert head.activation is keras.activations.linear
  outputs = encoder(np.random.default_rng(0).normal(size=(3, 15, 12)) * 100)
  assert outputs["mean"].shape == outputs["log_variance"].shape == (3, 25)


def test_batch_norm_where_kusner_et_al_put_it():
  def batch_norms(model):
    return sum(isinstance(layer, keras.layers.BatchNormalization)
               for layer in model.layers)
  # model_eq.py: BN after each conv; model_zinc.py: none.
  assert batch_norms(networks.build_encoder("expressions", 15, 12, 25)) == 3
  assert batch_norms(networks.build_encoder("molecules", 277, 76, 56)) == 0
  # model_eq.py's decoder normalises z before its Dense: 2 * 25 trainable
  # and 2 * 25 moving parameters more than the 161162 above.
  decoder = networks.build_decoder("expressions", 15, 12, 25,
                                   input_batch_norm=True)
  assert batch_norms(decoder) == 1
  assert decoder.count_params() == 161162 + 4 * 25


def test_width_scales_the_grus_only():
  decoder = networks.build_decoder("molecules", 277, 76, 56, width=0.1)
  grus = [layer for layer in decoder.layers
          if isinstance(layer, keras.layers.GRU)]
  assert [gru.units for gru in grus] == [50, 50, 50]  # round(501 * 0.1)


def test_the_molecule_encoder_is_kusners_at_every_width():
  # model_zinc.py: Conv1D 9 (k 9), 9 (k 9), 10 (k 11), valid, ReLU ->
  # Dense 435. On (137, 76): 137 -> 129 -> 121 -> 111 steps, so the Dense
  # sees 111 * 10 = 1110 features:
  #   conv 76*9*9+9 = 6165; conv 9*9*9+9 = 738; conv 9*11*10+10 = 1000;
  #   Dense 1110*435+435 = 483285; Dense 435*56+56 = 24416; sum 515604.
  encoder = networks.build_encoder("molecules", 137, 76, 56)
  assert [layer.filters for layer in encoder.layers
          if isinstance(layer, keras.layers.Conv1D)] == [9, 9, 10]
  assert encoder.count_params() == 515604
  for config in (make("grae", 0.25), make("gvae", 0.5), make("cvae", 0.1)):
    model = autoencoders.build_model(config, 137, np.ones((76, 76)))
    filters = [layer.filters for layer in model.encoder.layers
               if isinstance(layer, keras.layers.Conv1D)]
    assert filters == [9, 9, 10], config.width
    assert [layer.units for layer in model.encoder.layers
            if isinstance(layer, keras.layers.Dense)][0] == 435


def make(model, width):
  return grammar_config.make_config("molecules", model, "cpu", width=width)


def test_decoder_kernels_include_the_gru_cells():
  decoder = networks.build_decoder("expressions", 15, 12, 25)
  kernels = networks.decoder_kernels(decoder)
  # Dense, 3 GRUs x (kernel, recurrent kernel), output Dense.
  assert len(kernels) == 8
  assert (100, 300) in [tuple(k.shape) for k in kernels]  # a recurrent one


def test_unknown_task_and_too_short_sequences_are_refused():
  with pytest.raises(ValueError, match="--task must be one of"):
    networks.build_encoder("proteins", 15, 12, 25)
  with pytest.raises(ValueError, match="receptive field"):
    networks.build_encoder("molecules", 20, 76, 56)
