"""End to end: the command line on the smoke preset, and its error paths."""

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_main(*flags, timeout=600):
  return subprocess.run(
      [sys.executable, "-m", "rae_tf.main", *flags], cwd=REPO_ROOT,
      capture_output=True, text=True, timeout=timeout,
      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def assert_one_line_error(result, status, *fragments):
  assert result.returncode == status, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  for fragment in fragments:
    assert fragment in last, last


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("run") / "smoke")
  result = run_main("--flagfile=flags/smoke.flags", "--reg=l2",
                    f"--workdir={workdir}")
  assert result.returncode == 0, result.stderr[-5000:]
  return workdir, result


def test_smoke_run_writes_the_expected_work_directory(smoke_run):
  workdir, result = smoke_run
  assert f"outputs in {workdir}" in result.stdout
  expected = {
      "config.json", "flags.txt", "results.json",
      "checkpoints/best.weights.h5",
      "samplers/gaussian.npz", "samplers/gmm.npz",
      "images/reconstructions.png", "images/interpolations.png",
      "images/samples_gaussian.png", "images/samples_gmm.png",
      "export/mnist_rae_l2/1/saved_model.pb",
  }
  for name in expected:
    assert os.path.isfile(os.path.join(workdir, name)), name
  leftovers = [name for _, dirs, files in os.walk(workdir)
               for name in dirs + files if name.startswith(".tmp")]
  assert not leftovers


def test_results_record_losses_densities_and_speed(smoke_run):
  workdir, _ = smoke_run
  with open(os.path.join(workdir, "results.json")) as f:
    results = json.load(f)
  assert results["run_name"] == "mnist_rae_l2"
  assert results["config"]["reg"] == "l2"
  assert results["dataset_sizes"] == {"train": 500, "validation": 500,
                                      "test": 500}
  assert results["epochs_run"] == 2
  assert set(results["test"]) == {"loss", "reconstruction", "embedding",
                                  "regularization"}
  assert 0 < results["test"]["reconstruction"] < 0.3
  assert results["densities"]["gmm"]["components"] == 3
  assert results["densities"]["gaussian"]["components"] == 1
  assert results["train_images_per_second"] > 0


def test_images_are_grids_of_the_expected_size(smoke_run):
  workdir, _ = smoke_run
  def shape(name):
    with open(os.path.join(workdir, "images", name), "rb") as f:
      return tuple(tf.io.decode_png(f.read()).shape)
  # 10 x 10 samples of 32 px with 2 px padding: 10 * 34 + 2 = 342.
  assert shape("samples_gmm.png") == (342, 342, 1)
  # 2 rows (inputs, reconstructions) x 16 columns.
  assert shape("reconstructions.png") == (2 * 34 + 2, 16 * 34 + 2, 1)
  # 8 rows of x_a, 8 interpolants, x_b.
  assert shape("interpolations.png") == (8 * 34 + 2, 10 * 34 + 2, 1)


def test_flags_file_reproduces_the_configuration(smoke_run):
  workdir, _ = smoke_run
  lines = open(os.path.join(workdir, "flags.txt")).read().splitlines()
  assert "--width=0.03125" in lines and "--reg=l2" in lines
  assert "--max_train_examples=500" in lines


def test_tensorboard_has_every_loss_term_and_image_grids(smoke_run):
  workdir, _ = smoke_run
  tags = set()
  for root, _, names in os.walk(os.path.join(workdir, "tensorboard")):
    for name in names:
      for event in tf.compat.v1.train.summary_iterator(os.path.join(root,
                                                                    name)):
        tags.update(value.tag for value in event.summary.value)
  for tag in ("epoch_loss", "epoch_reconstruction", "epoch_embedding",
              "epoch_regularization", "epoch_learning_rate",
              "reconstructions", "gmm_samples"):
    assert tag in tags, sorted(tags)


def test_exported_sample_signature_works(smoke_run):
  workdir, _ = smoke_run
  loaded = tf.saved_model.load(
      os.path.join(workdir, "export", "mnist_rae_l2", "1"))
  images = loaded.signatures["sample"](
      num_samples=tf.constant(3), seed=tf.constant(1, tf.int64))["images"]
  assert images.shape == (3, 32, 32, 1)


def test_non_empty_workdir_without_overwrite_is_refused(smoke_run):
  workdir, _ = smoke_run
  before = sorted(os.listdir(workdir))
  result = run_main("--flagfile=flags/smoke.flags", f"--workdir={workdir}")
  assert_one_line_error(result, 2, "is not empty", "--overwrite")
  assert sorted(os.listdir(workdir)) == before


def test_unknown_flag_value_names_the_allowed_values():
  result = run_main("--reg=dropout")
  assert result.returncode != 0
  assert "--reg" in result.stderr and "none|l2|gp|sn" in result.stderr


def test_out_of_range_flag_is_one_line(tmp_path):
  result = run_main("--flagfile=flags/smoke.flags", "--latent_dim=0",
                    f"--workdir={tmp_path / 'run'}")
  assert_one_line_error(result, 2, "latent_dim must be a positive integer")


def test_missing_data_dir_is_one_line(tmp_path):
  result = run_main("--flagfile=flags/smoke.flags",
                    f"--data_dir={tmp_path / 'nowhere'}",
                    f"--workdir={tmp_path / 'run'}")
  assert_one_line_error(result, 2, "is not a directory")


def test_truncated_idx_file_is_one_line_naming_the_file(tmp_path):
  data_dir = tmp_path / "mnist"
  data_dir.mkdir()
  header = np.array([0x803, 60000, 28, 28], ">i4").tobytes()
  with gzip.open(data_dir / "train-images-idx3-ubyte.gz", "wb") as f:
    f.write(header + bytes(1000))  # far fewer pixels than promised
  with gzip.open(data_dir / "t10k-images-idx3-ubyte.gz", "wb") as f:
    f.write(np.array([0x803, 1, 28, 28], ">i4").tobytes() + bytes(784))
  result = run_main("--flagfile=flags/smoke.flags", f"--data_dir={data_dir}",
                    f"--workdir={tmp_path / 'run'}")
  assert_one_line_error(result, 2, "train-images-idx3-ubyte.gz", "truncated")


def test_diverging_loss_stops_with_one_line_and_no_export(tmp_path):
  workdir = tmp_path / "run"
  # A weight of 1e38 turns the ~1-10 latent term into an inf loss at once.
  result = run_main("--flagfile=flags/smoke.flags", "--embedding_weight=1e38",
                    f"--workdir={workdir}")
  assert_one_line_error(result, 1, "training loss became inf",
                        "epoch 1, batch 1", "--learning_rate")
  assert not (workdir / "export").exists()
  assert not (workdir / "results.json").exists()


def test_disk_full_during_the_run_is_one_line(tmp_path, monkeypatch, capsys):
  # In-process: make every atomic write fail as a full disk would.
  import errno  # pylint: disable=g-import-not-at-top
  from absl.testing import flagsaver  # pylint: disable=g-import-not-at-top
  from rae_tf import files  # pylint: disable=g-import-not-at-top
  from rae_tf import main  # pylint: disable=g-import-not-at-top
  from rae_tf import training_flags  # pylint: disable=g-import-not-at-top

  def full(path, data):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

  monkeypatch.setattr(files, "atomic_write_bytes", full)
  training_flags.FLAGS(["rae_tf", "--flagfile=" + os.path.join(
      REPO_ROOT, "flags", "smoke.flags")])
  with flagsaver.flagsaver(workdir=str(tmp_path / "run")):
    with pytest.raises(SystemExit) as exit_info:
      main.main(["rae_tf"])
  assert exit_info.value.code == 2
  last = capsys.readouterr().err.strip().splitlines()[-1]
  assert last.startswith("rae_tf: error: No space left on device")
  assert "config.json" in last and "free space" in last


def test_every_config_field_has_a_flag_that_reaches_it():
  import dataclasses  # pylint: disable=g-import-not-at-top
  from absl.testing import flagsaver  # pylint: disable=g-import-not-at-top
  from rae_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  from rae_tf import training_flags  # pylint: disable=g-import-not-at-top
  if not training_flags.FLAGS.is_parsed():
    training_flags.FLAGS(["rae_tf"])
  # A value other than the default for every field (weights only where the
  # model has them: a VAE takes kl_weight, so use the RAE-free fields).
  values = dict(dataset="cifar10", model="rae", reg="gp", latent_dim=7,
                embedding_weight=0.5, reg_weight=0.25, epochs=3,
                batch_size=9, learning_rate=0.01, width=0.5,
                data_dir="/data", seed=11, sn_encoder=True, gp_form="authors",
                gmm_components=4, lr_patience=2, max_train_examples=13,
                deterministic=True, distribute="mirrored",
                precision="mixed_bfloat16",
                constant_sigma=0.3, stage2_epochs=4,
                stage2_learning_rate=0.002, max_samples_per_request=17,
                signed_inputs=True, sn_form="authors")
  fields = {f.name for f in dataclasses.fields(config_lib.Config)}
  weights_of_other_models = {"kl_weight", "mmd_weight", "stage2_kl_weight",
                             "input_noise_stddev"}
  # Settings of --dataset=folder / npz, checked with that dataset below.
  user_data = dict(dataset="folder", image_size=64, channels=1,
                   validation_fraction=0.1, test_fraction=0.2,
                   skip_bad_images=True)
  assert fields - weights_of_other_models == set(values) | set(user_data)
  with flagsaver.flagsaver(**values):
    config = training_flags.config_from_flags()
  for name, value in values.items():
    assert getattr(config, name) == value, name
  with flagsaver.flagsaver(**user_data):
    config = training_flags.config_from_flags()
  for name, value in user_data.items():
    assert getattr(config, name) == value, name
  with flagsaver.flagsaver(model="two_stage_vae", kl_weight=0.1,
                           stage2_kl_weight=0.2):
    config = training_flags.config_from_flags()
  assert (config.kl_weight, config.stage2_kl_weight) == (0.1, 0.2)
  with flagsaver.flagsaver(model="wae", mmd_weight=0.3,
                           input_noise_stddev=0.02):
    config = training_flags.config_from_flags()
  assert (config.mmd_weight, config.input_noise_stddev) == (0.3, 0.02)
