"""Two-stage VAE baseline (Dai & Wipf 2019) on the paper's nets.

Stage 1 is the VAE of vae.py, trained on images. Its posterior means z of
the training set do not follow the prior N(0, I), so decoding prior samples
gives poor images. Stage 2 (second_stage.py) is a second VAE, trained
after stage 1 on the standardised means; its sampler gives the codes of the
exported `sample` and `reconstruct_sampled` signatures.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from rae_tf import config as config_lib
from rae_tf.baselines import second_stage
from rae_tf.baselines import vae


@keras.saving.register_keras_serializable(package="rae_tf")
class TwoStageVAE(vae.VariationalAutoencoder):
  """Stage 1 (a VAE on images) whose code sampler is a trained stage 2.

  The Keras model (and its checkpoint) is stage 1; `fit_code_sampler`
  trains stage 2 on the training means and returns it as the sampler of
  the exported `sample` signature.
  """

  def __init__(
      self,
      encoder: keras.Model,
      decoder: keras.Model,
      kl_weight: float = 1.0,
      stage2_kl_weight: float = 1.0,
      stage2_epochs: int = 1,
      stage2_learning_rate: float = 1e-4,
      stage2_batch_size: int = second_stage.SECOND_STAGE_BATCH_SIZE,
      stage2_hidden_units: int = second_stage.SECOND_STAGE_HIDDEN_UNITS,
      seed: int | None = None,
      **kwargs):
    """Creates stage 1 and records how to train stage 2.

    Args:
      encoder: x -> {"mean": (B, d), "log_scale": (B, d)}.
      decoder: D, (B, d) -> (B, H, W, C).
      kl_weight: weight of the stage-1 KL term.
      stage2_kl_weight: weight of the stage-2 KL term.
      stage2_epochs: stage-2 passes over the training codes.
      stage2_learning_rate: stage-2 Adam learning rate.
      stage2_batch_size: stage-2 codes per step.
      stage2_hidden_units: width of the stage-2 MLPs.
      seed: seed of both stages' noise and of the stage-2 shuffling.
      **kwargs: passed to keras.Model.
    """
    super().__init__(encoder, decoder, kl_weight=kl_weight, seed=seed,
                     **kwargs)
    self.stage2_kl_weight = float(stage2_kl_weight)
    self.stage2_epochs = int(stage2_epochs)
    self.stage2_learning_rate = float(stage2_learning_rate)
    self.stage2_batch_size = int(stage2_batch_size)
    self.stage2_hidden_units = int(stage2_hidden_units)

  def fit_code_sampler(
      self, codes: np.ndarray) -> second_stage.SecondStageSampler:
    """Trains stage 2 on the (N, d) training means; returns its sampler."""
    return second_stage.fit_second_stage(
        codes, kl_weight=self.stage2_kl_weight, epochs=self.stage2_epochs,
        learning_rate=self.stage2_learning_rate,
        batch_size=self.stage2_batch_size,
        hidden_units=self.stage2_hidden_units, seed=self.seed)

  def posterior_draw(
      self, images, seed,
      code_sampler: second_stage.SecondStageSampler) -> tf.Tensor:
    """The authors' 2sVAE reconstruction codes, (B, d) float32.

    The stage-1 means mu(x) through the whole stage-2 VAE
    (`SecondStageSampler.round_trip`), as their Table-1 REC.
    """
    return code_sampler.round_trip(self.encode(images), seed)

  def get_config(self):
    return {**super().get_config(),
            "stage2_kl_weight": self.stage2_kl_weight,
            "stage2_epochs": self.stage2_epochs,
            "stage2_learning_rate": self.stage2_learning_rate,
            "stage2_batch_size": self.stage2_batch_size,
            "stage2_hidden_units": self.stage2_hidden_units}


def build_two_stage_vae(config: config_lib.Config) -> TwoStageVAE:
  """Stage 1 on the paper's nets; stage 2 as `config.stage2_*` say."""
  encoder, decoder = vae.build_networks(config)
  return TwoStageVAE(
      encoder, decoder,
      kl_weight=config.kl_weight, stage2_kl_weight=config.stage2_kl_weight,
      stage2_epochs=config.stage2_epochs,
      stage2_learning_rate=config.stage2_learning_rate, seed=config.seed,
      name=config.model)
