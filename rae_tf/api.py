"""The Python API: build a model of the paper's family for your images.

    model = rae_tf.build_model("rae", "l2", image_shape=(32, 32, 1))
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    model.fit(images, epochs=20, batch_size=100)
    gmm = rae_tf.fit_gmm(model.encode(images).numpy(), num_components=10)

`build_model` takes the same model / regulariser names as the command line
and the same defaults (the paper's weights for the closest paper net:
MNIST's at 32 pixels, CelebA's at 64 and above; `presets.user_preset`), and
returns an ordinary `keras.Model`: `fit` on arrays or a `tf.data.Dataset`
of (B, H, W, C) images in [0, 1], `encode(images)` -> (B, d) codes,
`decoder(codes)` -> images.
"""

from __future__ import annotations

from typing import Sequence

import keras

from rae_tf import config as config_lib
from rae_tf import models


def build_model(model: str = "rae", reg: str = "l2", *,
                image_shape: Sequence[int], latent_dim: int | None = None,
                width: float = 1.0, seed: int = 0,
                **options) -> keras.Model:
  """A model of the paper's family for (H, W, C) images.

  Args:
    model: "rae", "ae" or a baseline ("vae", "cvvae", "wae",
      "two_stage_vae"), as `--model`.
    reg: decoder regulariser of "rae": "none", "l2", "gp" or "sn", as
      `--reg` (ignored, as "none", for the other models).
    image_shape: (H, W, C) with H = W in (32, 64, 128, 256) and C in (1, 3).
    latent_dim: d; default 64, as for `--dataset=folder`.
    width: multiplier of every conv width; 1.0 = the paper's nets.
    seed: seed of the weights' initialisation and the random probes.
    **options: any other `rae_tf.config.Config` field: `embedding_weight`,
      `reg_weight`, `gp_form`, `sn_encoder`, `kl_weight`, ...

  Returns:
    An uncompiled keras.Model with `encode`, `decoder` and the objective of
    `model` in its `train_step`.

  Raises:
    rae_tf.errors.ConfigError: a size, name or value the nets do not take,
      e.g. `image_shape=(28, 28, 1)`: pad or resize to 32 first.

  Like `rae_tf.main`, this seeds Python's, NumPy's and TensorFlow's global
  random generators with `seed` (`keras.utils.set_random_seed`), so that the
  same call builds the same weights.
  """
  image_shape = tuple(int(size) for size in image_shape)  # numpy ints too
  height, width_pixels, channels = (image_shape + (None,) * 3)[:3]
  if len(image_shape) != 3 or height != width_pixels:
    raise config_lib.ConfigError(
        f"image_shape must be (H, W, C) with H = W; got {image_shape}")
  if latent_dim is not None:
    latent_dim = int(latent_dim)
  if model in config_lib.BASELINE_WEIGHTS or model == "ae":
    reg = "none"  # only the RAE family takes a decoder regulariser
  config = config_lib.make_config(
      "npz", model, reg, gpu_available=True, image_size=height,
      channels=channels, latent_dim=latent_dim, width=width, seed=seed,
      **options)
  keras.utils.set_random_seed(seed)
  return models.build_model(config)
