"""rae_tf: Regularized Autoencoders (Ghosh et al., ICLR 2020) in Keras 3 / TensorFlow.

The Python API (README, "Python API"); each name is imported from its module
on first use, so `import rae_tf` itself loads no TensorFlow:

  build_model            a model of the paper's family for (H, W, C) images
  RegularizedAutoencoder the RAE / AE Keras model (rae_tf.models)
  fit_gmm, fit_gaussian  the ex-post densities of the codes (rae_tf.sampler)
  GaussianMixture        a fitted density: save / load / log_prob
  MixtureSampler         a Keras layer sampling a density inside a graph
  export_model           the SavedModel with encode / decode / sample
  load_splits            a dataset's train / validation / test tf.data sets
"""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_API = {
    "build_model": "rae_tf.api",
    "RegularizedAutoencoder": "rae_tf.models",
    "fit_gmm": "rae_tf.sampler",
    "fit_gaussian": "rae_tf.sampler",
    "GaussianMixture": "rae_tf.sampler",
    "MixtureSampler": "rae_tf.sampler",
    "export_model": "rae_tf.export",
    "load_splits": "rae_tf.data",
}
__all__ = sorted(_API)


def __getattr__(name):
  if name in _API:
    return getattr(importlib.import_module(_API[name]), name)
  raise AttributeError(f"module 'rae_tf' has no attribute {name!r}")


def __dir__():
  return sorted([*globals(), *_API])
