"""Tests of rae_tf.config: presets, weight conversion, validation, round trips."""

import json

import pytest

from rae_tf import config as config_lib
from rae_tf import presets
from rae_tf import weight_conversion
from rae_tf.errors import ConfigError


def test_embedding_weight_conversion_worked_by_hand():
  # beta * mean_j z_j^2 == w * 1/2 sum_j z_j^2 with w = 2 beta / d:
  # MNIST RAE-L2, beta = 1e-4, d = 16 -> w = 2e-4 / 16 = 1.25e-5.
  assert weight_conversion.embedding_weight_from_authors(1e-4, 16) == pytest.approx(
      1.25e-5)


@pytest.mark.parametrize("dataset,latent_dim,lr,shape", [
    ("mnist", 16, 5e-4, (32, 32, 1)),
    ("fashion_mnist", 16, 5e-4, (32, 32, 1)),
    ("cifar10", 128, 5e-4, (32, 32, 3)),
    ("celeba", 64, 1e-3, (64, 64, 3)),
])
def test_paper_defaults_per_dataset(dataset, latent_dim, lr, shape):
  config = config_lib.make_config(dataset, "rae", "l2", gpu_available=True)
  assert config.latent_dim == latent_dim
  assert config.learning_rate == lr
  assert config.image_shape == shape
  assert config.batch_size == 100
  assert config.width == 1.0
  assert config.epochs == presets.PRESETS[dataset].epochs


def test_mnist_paper_weights_per_regularizer():
  # PAPER.md, MNIST row: RAE-L2 1e-7 / 1e-4, RAE-GP 5e-8 / 1e-4,
  # RAE-SN beta 0.009, RAE beta 5e-4; converted with w = 2 beta / 16.
  expected = {"l2": (1e-7, 1e-4), "gp": (5e-8, 1e-4), "sn": (0.0, 0.009),
              "none": (0.0, 5e-4)}
  for reg, (reg_weight, beta) in expected.items():
    config = config_lib.make_config("mnist", "rae", reg)
    assert config.reg_weight == reg_weight
    assert config.embedding_weight == pytest.approx(2 * beta / 16)


def test_cpu_defaults_are_smaller_than_the_paper():
  config = config_lib.make_config("mnist", gpu_available=False)
  assert config.width < 1.0
  assert config.epochs < presets.PRESETS["mnist"].epochs


def test_ae_has_no_latent_term_nor_regularizer():
  config = config_lib.make_config("mnist", "ae", "none")
  assert config.embedding_weight == 0.0 and config.reg_weight == 0.0
  with pytest.raises(ConfigError, match="--model=rae --reg=l2"):
    config_lib.make_config("mnist", "ae", "l2")
  with pytest.raises(ConfigError, match="embedding_weight"):
    config_lib.make_config("mnist", "ae", "none", embedding_weight=0.1)


def test_overrides_win_and_none_means_default():
  config = config_lib.make_config("mnist", "rae", "l2", latent_dim=8,
                                  width=0.5, epochs=None)
  assert config.latent_dim == 8 and config.width == 0.5
  # The default latent weight is converted with the overridden d = 8.
  assert config.embedding_weight == pytest.approx(2 * 1e-4 / 8)
  assert config.epochs == presets.PRESETS["mnist"].cpu_epochs


@pytest.mark.parametrize("overrides,message", [
    ({"latent_dim": 0}, "latent_dim must be a positive integer"),
    ({"batch_size": -5}, "batch_size must be a positive integer"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"learning_rate": 0.0}, "learning_rate must be > 0"),
    ({"learning_rate": float("nan")}, "learning_rate must be > 0"),
    ({"reg_weight": -1.0}, "reg_weight must be finite and >= 0"),
    ({"embedding_weight": float("inf")}, "embedding_weight must be finite"),
    ({"width": 0.0}, r"width must be in \(0, 8\]"),
    ({"max_train_examples": 0}, "max_train_examples must be a positive"),
    ({"max_samples_per_request": 0},
     r"max_samples_per_request must be a positive integer <= 2147483647 "
     r"\(num_samples is int32\); got 0$"),
    ({"max_samples_per_request": 2**31}, "got 2147483648$"),
    ({"max_samples_per_request": 10.5}, "got 10.5$"),
])
def test_out_of_range_values_are_rejected(overrides, message):
  with pytest.raises(ConfigError, match=message):
    config_lib.make_config("mnist", "rae", "l2", **overrides)


def test_unknown_names_are_rejected_with_the_allowed_values():
  with pytest.raises(ConfigError, match=r"--dataset must be one of .*'mnist'"):
    config_lib.make_config("imagenet")
  with pytest.raises(ConfigError, match=r"--reg must be one of .*'gp'"):
    config_lib.make_config("mnist", "rae", "dropout")
  with pytest.raises(ConfigError, match=r"gp_form must be one of .*'authors'"):
    config_lib.make_config("mnist", "rae", "gp", gp_form="exact")


def test_max_samples_per_request_defaults_to_10000():
  config = config_lib.make_config("mnist", "rae", "l2")
  assert config.max_samples_per_request == 10_000
  assert config_lib.make_config(
      "mnist", "rae", "l2",
      max_samples_per_request=None).max_samples_per_request == 10_000


def test_json_round_trip():
  config = config_lib.make_config("cifar10", "rae", "sn", seed=3,
                                  data_dir="/data/cifar",
                                  max_samples_per_request=123)
  assert config_lib.Config.from_json(config.to_json()) == config


def test_config_json_written_before_the_sample_bound_loads_with_the_default():
  import json  # pylint: disable=g-import-not-at-top
  saved = json.loads(config_lib.make_config("mnist", "rae", "l2").to_json())
  del saved["max_samples_per_request"]
  config = config_lib.Config.from_json(json.dumps(saved))
  assert config.max_samples_per_request == 10_000


def test_flagfile_lists_every_set_field():
  config = config_lib.make_config("mnist", "rae", "gp", sn_encoder=True,
                                  gp_form="authors")
  lines = config.to_flagfile().splitlines()
  assert "--reg=gp" in lines
  assert "--sn_encoder=true" in lines
  assert "--max_samples_per_request=10000" in lines
  assert "--gp_form=authors" in lines
  assert not any(line.startswith("--data_dir") for line in lines)  # None


def test_run_name():
  assert config_lib.make_config("mnist", "rae", "l2").run_name == "mnist_rae_l2"
  assert config_lib.make_config("mnist", "ae").run_name == "mnist_ae"


def test_a_config_saved_before_a_field_existed_matches_its_defaults():
  config = config_lib.make_config("mnist", "rae", "gp")
  saved = json.loads(config.to_json())
  del saved["gp_form"], saved["max_samples_per_request"]
  assert config.fields_differing_from(json.dumps(saved)) == []
  other = config_lib.make_config("mnist", "rae", "gp", gp_form="authors")
  assert other.fields_differing_from(json.dumps(saved)) == ["gp_form"]


# The user's own images: --dataset=folder / npz.


@pytest.mark.parametrize("size,architecture,basis,cpu_width", [
    (32, "conv32", "mnist", 0.25),
    (64, "conv64", "celeba", 0.125),
    (128, "conv128", "celeba", 0.0625),
    (256, "conv256", "celeba", 0.0625),
])
def test_user_data_presets_per_image_size(size, architecture, basis,
                                          cpu_width):
  paper = presets.PRESETS[basis]
  for dataset, channels in (("folder", 1), ("npz", 3)):
    config = config_lib.make_config(dataset, "rae", "l2", gpu_available=True,
                                    image_size=size, channels=channels)
    assert config.image_shape == (size, size, channels)
    assert config.preset.architecture == architecture
    assert config.latent_dim == presets.USER_LATENT_DIM == 64
    assert (config.learning_rate, config.epochs) == (paper.learning_rate,
                                                     paper.epochs)
    # The basis' RAE-L2 weights, the latent one converted with d = 64.
    assert config.reg_weight == paper.authors_lambda["l2"]
    assert config.embedding_weight == pytest.approx(
        2 * paper.authors_beta["l2"] / 64)
    cpu = config_lib.make_config(dataset, image_size=size, channels=channels)
    assert (cpu.width, cpu.epochs) == (cpu_width, presets.USER_CPU_EPOCHS)


def test_user_data_baseline_weights_are_converted_for_the_size():
  # CelebA's authors' weights at 128x128x3: KL 0.09024 / (128 * 128); WAE MMD
  # 100 over a reconstruction of 0.05 * sum over 128 * 128 * 3 values.
  vae = config_lib.make_config("folder", "vae", image_size=128, channels=3)
  assert vae.kl_weight == pytest.approx(0.09024 / 128**2)
  assert vae.authors_loss_scale == 128**2
  wae = config_lib.make_config("folder", "wae", image_size=128, channels=3)
  assert wae.mmd_weight == pytest.approx(100 / (0.05 * 128 * 128 * 3))
  # At 32: MNIST's, as --dataset=mnist has them.
  small = config_lib.make_config("npz", "vae", image_size=32, channels=3)
  assert small.kl_weight == config_lib.make_config("mnist", "vae").kl_weight


@pytest.mark.parametrize("dataset,overrides,message", [
    ("folder", {"channels": 3},
     r"--dataset=folder needs --image_size, one of \[32, 64, 128, 256\] .*"
     r"got None$"),
    ("npz", {"image_size": 100, "channels": 3},
     r"--dataset=npz needs --image_size, one of .* got 100$"),
    ("folder", {"image_size": 64}, r"--channels must be 1 \(grey\) or 3 "
     r"\(RGB\); got None$"),
    ("folder", {"image_size": 64, "channels": 4}, r"got 4$"),
    ("mnist", {"image_size": 32}, r"--image_size / --channels are for "
     r"--dataset=folder or npz; mnist is 32x32x1 .*: drop them$"),
    ("cifar10", {"channels": 1}, r"cifar10 is 32x32x3"),
    ("mnist", {"validation_fraction": 0.0},
     r"validation_fraction must be in \(0, 1\); got 0.0$"),
    ("mnist", {"test_fraction": 1.0}, r"test_fraction must be in \(0, 1\)"),
    ("mnist", {"test_fraction": float("nan")}, "test_fraction must be in"),
    ("folder", {"image_size": 32, "channels": 1, "validation_fraction": 0.6,
                "test_fraction": 0.4},
     r"validation_fraction \+ test_fraction must be < 1 .*; got 0.6 \+ 0.4$"),
])
def test_user_data_settings_are_validated(dataset, overrides, message):
  with pytest.raises(ConfigError, match=message):
    config_lib.make_config(dataset, **overrides)


def test_user_data_config_round_trips_and_reruns():
  config = config_lib.make_config(
      "folder", "rae", "gp", image_size=128, channels=1, data_dir="/images",
      validation_fraction=0.1, test_fraction=0.2, skip_bad_images=True)
  assert config_lib.Config.from_json(config.to_json()) == config
  lines = config.to_flagfile().splitlines()
  for line in ("--dataset=folder", "--image_size=128", "--channels=1",
               "--validation_fraction=0.1", "--test_fraction=0.2",
               "--skip_bad_images=true"):
    assert line in lines
  assert config.data_options == dict(validation_fraction=0.1,
                                     test_fraction=0.2, skip_bad_images=True)
  # A config.json written before these fields existed matches the defaults.
  mnist = config_lib.make_config("mnist", "rae", "l2")
  saved = json.loads(mnist.to_json())
  for name in ("image_size", "channels", "validation_fraction",
               "test_fraction", "skip_bad_images"):
    del saved[name]
  assert mnist.fields_differing_from(json.dumps(saved)) == []
