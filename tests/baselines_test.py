"""The baselines (VAE, CV-VAE, WAE, 2-stage VAE) through the model registry.

Steps, overfitting, codes and densities, round trips, and their
configuration defaults. The maths of the loss terms is in prior_test.py, what
is particular to the VAEs in vae_test.py and to the 2-stage VAE in
two_stage_test.py and second_stage_test.py.
"""

import numpy as np
import pytest

from rae_tf import config as config_lib
from rae_tf import presets
from rae_tf import models
from rae_tf.baselines import two_stage
from rae_tf.baselines import vae
from rae_tf.baselines import wae
from rae_tf.errors import ConfigError

from baseline_toy import small_model  # pylint: disable=wrong-import-order

BASELINES = ("vae", "cvvae", "wae", "two_stage_vae")


def snapshot(model):
  return [w.numpy().copy() for w in model.weights]


def test_registry_builds_each_baseline_class():
  expected = {"vae": vae.VariationalAutoencoder,
              "cvvae": vae.ConstantVarianceVAE,
              "wae": wae.WassersteinAutoencoder,
              "two_stage_vae": two_stage.TwoStageVAE}
  for name, cls in expected.items():
    model = small_model(name)
    assert type(model) is cls, name  # pylint: disable=unidiomatic-typecheck
    assert isinstance(model, models.Autoencoder)
  assert set(BASELINES) <= set(models.MODELS)


@pytest.mark.parametrize("name", BASELINES)
def test_train_step_changes_weights_and_test_step_does_not(name, digits):
  model = small_model(name)
  before = snapshot(model)
  model.test_on_batch(digits)
  for a, b in zip(before, snapshot(model)):
    np.testing.assert_array_equal(a, b)
  logs = model.train_on_batch(digits, return_dict=True)
  assert set(logs) == set(model.LOSS_TERMS)
  assert all(np.isfinite(v) for v in logs.values())
  trainable = {id(w) for w in model.trainable_weights}
  for weight, old in zip(model.weights, before):
    if id(weight) in trainable:
      assert not np.array_equal(weight.numpy(), old), weight.path


@pytest.mark.parametrize("name", BASELINES)
def test_overfitting_one_batch_cuts_the_reconstruction(name, digits):
  # The paper's (converted) weights, Adam 1e-3. The reconstruction is
  # measured in training mode: for the VAEs, of sampled codes.
  model = small_model(name, width=0.125)
  first = model.train_on_batch(digits, return_dict=True)["reconstruction"]
  for _ in range(79):
    model.train_on_batch(digits)
  final = float(model.loss_terms(digits, training=True)["reconstruction"])
  # Beating the batch's mean image (MSE ~0.055) 5x needs per-digit codes;
  # the unconverted VAE weight (0.312) stays at ~0.04 here.
  mean_image_error = float(np.mean((digits - digits.mean(0)) ** 2))
  assert final < first / 5, (first, final)
  assert final < mean_image_error / 5, (mean_image_error, final)


@pytest.mark.parametrize("name", BASELINES)
def test_codes_are_deterministic_and_decoded_by_call(name, digits):
  model = small_model(name)
  model.train_on_batch(digits)  # move the BN statistics off their init
  codes = model.encode(digits, training=False).numpy()
  assert codes.shape == (16, 16)
  np.testing.assert_array_equal(codes,
                                model.encode(digits, training=False).numpy())
  np.testing.assert_allclose(
      model(digits).numpy(), model.decoder(codes, training=False).numpy(),
      rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ("vae", "wae", "two_stage_vae"))
def test_gaussian_density_is_the_prior_and_gmm_is_fitted(name):
  model = small_model(name)
  codes = np.random.default_rng(0).normal(loc=3.0, size=(300, 16))
  densities = model.ex_post_densities(codes, num_components=2, seed=0)
  gaussian = densities["gaussian"]
  np.testing.assert_array_equal(gaussian.weights, [1.0])
  np.testing.assert_array_equal(gaussian.means, np.zeros((1, 16)))
  np.testing.assert_array_equal(gaussian.scale_tril, np.eye(16)[None])
  assert densities["gmm"].num_components == 2
  assert np.all(np.abs(densities["gmm"].means.mean(0) - 3.0) < 0.5)


@pytest.mark.parametrize("name", BASELINES)
def test_get_config_round_trip(name, digits):
  model = small_model(name)
  clone = type(model).from_config(model.get_config())
  clone.set_weights(model.get_weights())
  for key in ("kl_weight", "mmd_weight", "sigma", "stage2_kl_weight",
              "stage2_epochs", "stage2_learning_rate"):
    assert getattr(clone, key, None) == getattr(model, key, None), key
  np.testing.assert_allclose(clone(digits).numpy(), model(digits).numpy(),
                             rtol=1e-6)


# Configuration.

@pytest.mark.parametrize("dataset,pixels,vae_kl,cvvae_kl,mmd,stage2_kl", [
    ("mnist", 32 * 32, 0.312, 0.039, 0.03, 1.5e-3),
    ("fashion_mnist", 32 * 32, 0.312, 0.039, 0.03, 1.5e-3),
    ("cifar10", 32 * 32, 0.024, 9e-4, 0.006, 1e-3),
    # CelebA WAE: the authors' reconstruction is 0.05 * 64 * 64 * 3 = 614.4
    # times the per-pixel mean, so 100 -> 100 / 614.4.
    ("celeba", 64 * 64, 0.09024, 0.01, 100 / 614.4, 2e-3),
])
def test_paper_defaults_per_dataset(dataset, pixels, vae_kl, cvvae_kl, mmd,
                                    stage2_kl):
  def make(model):
    return config_lib.make_config(dataset, model, gpu_available=True)
  for name in ("vae", "two_stage_vae"):
    assert make(name).kl_weight == pytest.approx(vae_kl / pixels)
    assert make(name).learning_rate == 1e-4
  assert make("cvvae").kl_weight == pytest.approx(cvvae_kl / pixels)
  assert make("cvvae").learning_rate == 1e-4
  assert make("cvvae").constant_sigma == 0.7
  assert make("wae").mmd_weight == pytest.approx(mmd)
  assert make("wae").learning_rate == 1e-3
  assert make("two_stage_vae").stage2_kl_weight == pytest.approx(stage2_kl)
  assert make("two_stage_vae").stage2_epochs == 100
  for name in BASELINES:
    config = make(name)
    assert config.embedding_weight == 0.0 and config.reg_weight == 0.0
    unused = {"kl_weight", "mmd_weight", "stage2_kl_weight"} - set(
        presets.BASELINE_WEIGHTS[name])
    assert all(getattr(config, field) == 0.0 for field in unused)


# The authors' per-run details (their configurations/config.py and nets),
# taken by the paper profile (a GPU) only: (dataset, model, reg) -> values.
AUTHORS_DETAILS = [
    ("mnist", "rae", "l2", dict(signed_inputs=True, epochs=100)),
    ("mnist", "vae", "none", dict(signed_inputs=True, batch_size=100)),
    ("cifar10", "wae", "none", dict(signed_inputs=True, epochs=70)),
    ("cifar10", "cvvae", "none", dict(epochs=70)),
    ("cifar10", "rae", "gp", dict(epochs=70)),
    ("cifar10", "rae", "l2", dict(epochs=100)),
    ("cifar10", "vae", "none", dict(epochs=100)),
    ("celeba", "vae", "none", dict(batch_size=1000, signed_inputs=False)),
    ("celeba", "two_stage_vae", "none", dict(batch_size=1000)),
    # Not their 64 base filters: width 0.5 would halve the decoder's base.
    ("celeba", "cvvae", "none", dict(width=1.0, batch_size=100)),
    ("celeba", "wae", "none", dict(input_noise_stddev=0.01, width=1.0)),
    ("celeba", "rae", "sn", dict(batch_size=100, input_noise_stddev=0.0)),
]


@pytest.mark.parametrize("dataset,model,reg,expected", AUTHORS_DETAILS)
def test_the_paper_profile_takes_the_authors_per_run_details(
    dataset, model, reg, expected):
  paper = config_lib.make_config(dataset, model, reg, gpu_available=True)
  assert {field: getattr(paper, field) for field in expected} == expected
  # The CPU profile keeps the common values; explicit flags win over both.
  cpu = config_lib.make_config(dataset, model, reg)
  assert (cpu.signed_inputs, cpu.batch_size, cpu.input_noise_stddev) == (
      False, 100, 0.0)
  chosen = config_lib.make_config(dataset, model, reg, gpu_available=True,
                                  batch_size=64, signed_inputs=False)
  assert (chosen.batch_size, chosen.signed_inputs) == (64, False)


def test_input_noise_is_refused_for_models_other_than_the_wae():
  with pytest.raises(ConfigError, match=r"input_noise_stddev .*\(a WAE option\)"):
    config_lib.make_config("celeba", "vae", input_noise_stddev=0.01)


def test_wae_input_noise_is_clipped_and_only_in_training(digits):
  model = small_model("wae", input_noise_stddev=0.01)
  noisy = model.encoder_inputs(digits, training=True).numpy() - digits
  assert np.abs(noisy).max() <= 0.01 + 1e-7
  # clip(N(0, s^2), +-s): about 68% of the draws fall inside the clip.
  assert 0.6 < np.mean(np.abs(noisy) < 0.0099) < 0.75
  np.testing.assert_array_equal(model.encoder_inputs(digits, False), digits)
  assert small_model("wae").encoder_inputs(digits, True) is digits


@pytest.mark.parametrize("dataset,model,scale", [
    ("mnist", "rae", 1.0), ("mnist", "vae", 1024.0),
    ("mnist", "cvvae", 1024.0), ("mnist", "two_stage_vae", 1024.0),
    ("mnist", "wae", 1.0), ("celeba", "vae", 4096.0),
    ("celeba", "wae", 614.4), ("cifar10", "ae", 1.0)])
def test_authors_loss_scale_matches_the_weight_conversion(dataset, model,
                                                          scale):
  # The factor the KL / MMD weights were divided by (H W, or the CelebA
  # WAE's 0.05 * 64 * 64 * 3) is the factor between the two losses.
  config = config_lib.make_config(dataset, model)
  assert config.authors_loss_scale == pytest.approx(scale)


@pytest.mark.parametrize("name", BASELINES)
def test_a_baseline_with_a_regularizer_is_refused(name):
  with pytest.raises(ConfigError,
                     match=f"--model={name} has no decoder regulariser; got "
                     "--reg=l2"):
    config_lib.make_config("mnist", name, "l2")


@pytest.mark.parametrize("model,field", [
    ("wae", "kl_weight"), ("vae", "mmd_weight"), ("cvvae", "stage2_kl_weight"),
    ("vae", "embedding_weight"), ("wae", "reg_weight"), ("rae", "kl_weight"),
    ("ae", "mmd_weight")])
def test_a_weight_the_model_does_not_have_is_refused(model, field):
  with pytest.raises(ConfigError, match=f"--model={model} has no {field}"):
    config_lib.make_config("mnist", model, **{field: 0.5})
  # Zero (as a saved flags.txt lists every field) is accepted.
  config_lib.make_config("mnist", model, **{field: 0.0})


@pytest.mark.parametrize("overrides,message", [
    ({"constant_sigma": 0.0}, "constant_sigma must be > 0"),
    ({"kl_weight": -1.0}, "kl_weight must be finite and >= 0"),
    ({"stage2_epochs": 0}, "stage2_epochs must be a positive integer"),
    ({"stage2_learning_rate": float("nan")}, "stage2_learning_rate must be"),
])
def test_out_of_range_baseline_values_are_rejected(overrides, message):
  with pytest.raises(ConfigError, match=message):
    config_lib.make_config("mnist", "two_stage_vae", **overrides)


def test_baseline_config_round_trips_and_run_name():
  config = config_lib.make_config("cifar10", "cvvae", constant_sigma=0.5,
                                  kl_weight=1e-3)
  assert config_lib.Config.from_json(config.to_json()) == config
  assert "--constant_sigma=0.5" in config.to_flagfile().splitlines()
  assert config.run_name == "cifar10_cvvae"
