"""Spectral normalisation as in the RAE authors' code (Miyato et al., 2018).

`AuthorsSpectralNormalization` wraps a layer with a `kernel` variable (Dense,
Conv2D, Conv2DTranspose, `networks.Conv2D`, ...). The kernel W stays the
trainable variable; every call, in training and in inference, flattens it to
a matrix W (rows, cols), with cols = W.shape[-1], and runs
`power_iterations` steps from a persistent vector u (1, cols):

  v = normalize(u Wᵀ)         (1, rows)
  u = normalize(v W)          (1, cols)
  σ = v W uᵀ                  (scalar; u, v under stop_gradient)
  W_sn = W / σ

then computes the wrapped layer's own `call` with W_sn in place of its
kernel (a `keras.StatelessScope` maps the kernel variable to W_sn), so the
bias, activation, padding, strides etc. are the layer's. normalize(x) is
x / (‖x‖ + 1e-12), the power iteration runs in float32, and u is a
non-trainable variable drawn from N(0, 1).

Differences from `keras.layers.SpectralNormalization`, which in training
assigns W / σ to the kernel variable and in inference uses the kernel as is:

  * W_sn is used in inference too (the raw kernel is never used);
  * the gradient flows through σ(W), as in Miyato et al. (u and v are held
    constant, W is not), instead of reaching a rescaled kernel with σ taken
    as a constant;
  * u is updated (assigned the iterated u) only when `training` is true, so
    inference leaves the layer's state untouched.

This follows DenseSN / ConvSN2D / ConvSN2DTranspose of the authors'
models/my_layers/spectral_normalized_dense_conv.py (Keras 2), with two
deliberate differences: their power iteration has no stop_gradient (the
gradient also flows through u and v), and they assign u in every call whose
`training` is not explicitly 0 / False (it defaults to None, and their
ConvSN2DTranspose.call takes no `training` argument), so at inference too.

Which axis is u's (the matrix's columns): always the kernel's last one, as
the authors (`K.reshape(self.kernel, [-1, W_shape[-1]])`, u of shape
`(1, W_shape[-1])` in all three layers) and Keras do. For Dense (in, out) and
Conv2D (k_h, k_w, in, out) that is the output axis. Conv2DTranspose kernels
are (k_h, k_w, out, in) (ConvSN2DTranspose builds
`self.kernel_size + (self.filters, input_dim)`), so there it is the input
channel axis and W is (k_h·k_w·out, in): the transposed convolution is the
adjoint of the Conv2D with that kernel, whose σ this is, since a matrix and
its transpose have the same σ.

The inner layer runs inside a StatelessScope: variable assignments it makes
would be dropped (Dense and convolutions make none).
"""

from __future__ import annotations

import keras
from keras import ops

_EPSILON = 1e-12  # The authors' `_l2normalize` epsilon.


def _l2_normalize(x):
  """x / (‖x‖ + ε) over all entries, as the authors' `_l2normalize`."""
  return x / (ops.sqrt(ops.sum(ops.square(x))) + _EPSILON)


@keras.saving.register_keras_serializable(package="rae_tf")
class AuthorsSpectralNormalization(keras.layers.Wrapper):
  """Computes a layer with kernel W / σ(W) in every call (module docstring).

  Args:
    layer: a layer with a `kernel` variable from which its `call` computes
      its output, e.g. `keras.layers.Dense`, `Conv2D`, `Conv2DTranspose`.
    power_iterations: power-iteration steps per call (the authors: 1).
    **kwargs: `keras.layers.Wrapper` arguments (name, ...).

  Attributes:
    vector_u: (1, kernel.shape[-1]) float32 non-trainable variable, the
      persistent power-iteration vector.
  """

  def __init__(self, layer: keras.layers.Layer, power_iterations: int = 1,
               **kwargs):
    super().__init__(layer, **kwargs)
    if power_iterations < 1:
      raise ValueError(
          f"power_iterations must be >= 1; got {power_iterations}")
    self.power_iterations = power_iterations

  def build(self, input_shape):
    super().build(input_shape)
    if not isinstance(getattr(self.layer, "kernel", None), keras.Variable):
      raise ValueError(f"{type(self.layer).__name__} has no `kernel` variable")
    self.vector_u = self.add_weight(
        shape=(1, self.layer.kernel.shape[-1]),
        initializer=keras.initializers.RandomNormal(0.0, 1.0),
        trainable=False, name="vector_u", dtype="float32")

  def _power_iteration(self):
    """Runs the power iteration from the stored u (not updated here).

    Returns:
      (σ, u): σ a float32 scalar, differentiable w.r.t. the kernel; u the
      iterated (1, cols) vector, under stop_gradient.
    """
    kernel = self.layer.kernel
    w = ops.reshape(ops.cast(kernel, "float32"), (-1, kernel.shape[-1]))
    u = self.vector_u.value
    for _ in range(self.power_iterations):
      v = _l2_normalize(ops.matmul(u, ops.transpose(w)))  # (1, rows)
      u = _l2_normalize(ops.matmul(v, w))  # (1, cols)
    u, v = ops.stop_gradient(u), ops.stop_gradient(v)
    sigma = ops.matmul(ops.matmul(v, w), ops.transpose(u))[0, 0]
    return sigma, u

  def sigma(self):
    """The σ estimate the next call divides the kernel by (a float32 scalar).

    One `power_iterations` run from the stored u, which is left unchanged.
    """
    return self._power_iteration()[0]

  def call(self, inputs, training=None):
    kernel = self.layer.kernel
    sigma, u = self._power_iteration()
    if training:
      self.vector_u.assign(u)
    w_sn = ops.cast(ops.cast(kernel, "float32") / sigma, kernel.dtype)
    # The other variables keep their values (an enclosing StatelessScope's,
    # if any: `.value` reads it, and the inner scope would hide it).
    mapping = [(v, w_sn if v is kernel else v.value)
               for v in self.layer.variables]
    with keras.StatelessScope(state_mapping=mapping):
      return self.layer(inputs)

  def compute_output_shape(self, input_shape):
    return self.layer.compute_output_shape(input_shape)

  def get_config(self):
    return {**super().get_config(), "power_iterations": self.power_iterations}
