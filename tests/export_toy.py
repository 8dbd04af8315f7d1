"""A small RAE-SN and GMM to export, for the `exported` fixture (conftest.py).

Shared by export_test.py and export_serving_test.py.
"""

import numpy as np

from rae_tf import config as config_lib
from rae_tf import export
from rae_tf import models
from rae_tf import sampler

# The fixture's --max_samples_per_request: above every request the other
# tests make (at most 5), small enough to sample at the bound in a blink.
BOUND = 8


def export_small_model(base):
  """Exports a small RAE-SN and GMM (at most BOUND samples a request).

  Args:
    base: the export base directory.

  Returns:
    (model, gmm, version dir).
  """
  config = config_lib.make_config("mnist", "rae", "sn", width=0.0625,
                                  latent_dim=4)
  model = models.build_model(config)
  rng = np.random.default_rng(0)
  # One training-mode call so SN has normalised the kernels.
  model(rng.random((8, 32, 32, 1), np.float32), training=True)
  gmm = sampler.MixtureSampler.from_mixture(
      sampler.fit_gmm(rng.normal(size=(200, 4)), 3), name="gmm_sampler")
  path = export.export_model(model, code_sampler=gmm, export_base=base,
                             model_name="mnist_rae_sn", image_shape=(32, 32, 1),
                             latent_dim=4, max_samples_per_request=BOUND)
  return model, gmm, path
