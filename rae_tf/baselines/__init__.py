"""The paper's comparison models: VAE, CV-VAE, WAE-MMD, two-stage VAE.

  prior       the N(0, I) prior: KL, MMD, its ex-post density
  vae         VAE and constant-variance VAE
  wae         WAE-MMD
  two_stage   the two-stage VAE (Dai & Wipf)
  second_stage  its second stage: the VAE on the codes, trained and sampled
"""
