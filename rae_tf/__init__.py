"""rae_tf: Regularized Autoencoders (Ghosh et al., ICLR 2020) in Keras 3 / TensorFlow."""

__version__ = "0.1.0"
