"""The authors' loss weights in this library's loss form.

No TensorFlow here. This library trains every model on

    L = mean_pixels (x - x_hat)^2 + embedding_weight * 1/2 ||z||^2 + reg_weight * L_reg

(`regularizers.py`, every term averaged over the batch). The authors' code
uses `mean_pixels (x - x_hat)^2 + beta * mean_j z_j^2 + lambda * L_reg`, so the
two agree when `embedding_weight = 2 * beta / latent_dim` and
`reg_weight = lambda` (`embedding_weight_from_authors`). Their baselines' KL /
MMD weights are converted by `baseline_weights_from_authors`, and
`authors_loss_scales` gives the factor between their losses and ours.
"""

from __future__ import annotations


def baseline_weights_from_authors(
    image_shape: tuple[int, int, int], *, vae_kl: float, cvvae_kl: float,
    wae_mmd: float, stage2_kl: float,
    wae_reconstruction_scale: float = 1.0) -> dict[str, dict[str, float]]:
  """The baselines' weights in this library's loss form.

  This library: mean_{h,w,c} (x - x_hat)^2 + weight * term. The authors' code:
    VAE, CV-VAE (and 2-stage stage 1): per sample, Keras `mse` (mean over
      channels) summed over the H x W pixels, + w KL; that is
      H W [mean_{h,w,c} (x - x_hat)^2 + w / (H W) KL], and Adam is invariant
      to the factor H W, so kl_weight = w / (H W).
    WAE: mean_{h,w,c} (x - x_hat)^2 + w MMD, or (CelebA) that mean times
      `wae_reconstruction_scale`, so mmd_weight = w / scale.
    2-stage VAE stage 2: mean_j (z'_j - z'_hat_j)^2 + w KL: as given.

  Args:
    image_shape: (H, W, C).
    vae_kl: the authors' VAE KL weight w.
    cvvae_kl: the authors' CV-VAE KL weight.
    wae_mmd: the authors' WAE MMD weight.
    stage2_kl: the authors' second-stage KL weight.
    wae_reconstruction_scale: the factor of the authors' WAE reconstruction
      term over the per-pixel mean.

  Returns:
    Model name -> {Config field: weight}.
  """
  pixels = image_shape[0] * image_shape[1]
  return {"vae": {"kl_weight": vae_kl / pixels},
          "cvvae": {"kl_weight": cvvae_kl / pixels},
          "wae": {"mmd_weight": wae_mmd / wae_reconstruction_scale},
          "two_stage_vae": {"kl_weight": vae_kl / pixels,
                            "stage2_kl_weight": stage2_kl}}


def authors_loss_scales(
    image_shape: tuple[int, int, int],
    wae_reconstruction_scale: float = 1.0) -> dict[str, float]:
  """Per model, the authors' loss divided by this library's (see above).

  The VAE family's authors' loss is H W times ours, the WAE's
  `wae_reconstruction_scale` times; the RAE family's is ours. Thresholds
  the authors set in their units (Keras' ReduceLROnPlateau min_delta) are
  divided by this factor to act on our losses as on theirs.

  Args:
    image_shape: (H, W, C).
    wae_reconstruction_scale: as in `baseline_weights_from_authors`.

  Returns:
    Model name -> factor; models not listed have factor 1.
  """
  pixels = float(image_shape[0] * image_shape[1])
  return {"vae": pixels, "cvvae": pixels, "two_stage_vae": pixels,
          "wae": float(wae_reconstruction_scale)}


def embedding_weight_from_authors(beta: float, latent_dim: int) -> float:
  """Converts the authors' `beta * mean_j z_j^2` weight to `w * 1/2 ||z||^2`.

  beta * (1/d) sum_j z_j^2 == w * 1/2 sum_j z_j^2  <=>  w = 2 beta / d.

  Args:
    beta: the authors' latent weight.
    latent_dim: d.

  Returns:
    The embedding weight of this library's loss.
  """
  return 2.0 * beta / latent_dim
