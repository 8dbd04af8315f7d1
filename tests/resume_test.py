"""Kill -9 during training, rerun the same command: same final weights."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 5


def command(workdir):
  # RAE-GP so that the random-probe state has to be restored as well.
  return [sys.executable, "-m", "rae_tf.main", "--flagfile=flags/smoke.flags",
          "--reg=gp", f"--epochs={EPOCHS}", "--deterministic",
          f"--workdir={workdir}"]


def run(workdir):
  result = subprocess.run(command(workdir), cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-4000:]
  return result


def saved_epoch(workdir):
  try:
    with open(os.path.join(workdir, "checkpoints", "resume", "state.json")) as f:
      return json.load(f)["epoch"]
  except (OSError, ValueError):
    return 0


def test_killed_run_resumes_to_the_same_weights(tmp_path, read_weights):
  reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
  run(reference)

  process = subprocess.Popen(command(interrupted), cwd=REPO_ROOT,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while saved_epoch(interrupted) < 2 and time.time() < deadline:
    assert process.poll() is None, "the run ended before it could be killed"
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.wait()
  killed_after = saved_epoch(interrupted)
  assert 2 <= killed_after < EPOCHS
  assert not (interrupted / "results.json").exists()
  assert not (interrupted / "export").exists()

  result = run(interrupted)
  assert f"resuming {interrupted} after epoch {killed_after}" in result.stderr

  final = f"checkpoints/resume/epoch-{EPOCHS:04d}.weights.h5"
  for name in (final, "checkpoints/best.weights.h5"):
    expected = read_weights(reference / name)
    actual = read_weights(interrupted / name)
    assert expected.keys() == actual.keys()
    for key in expected:
      np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)
  results = [json.loads((d / "results.json").read_text())
             for d in (reference, interrupted)]
  assert results[1]["resumed_after_epoch"] == killed_after
  assert results[0]["test"] == results[1]["test"]


def test_resuming_with_other_settings_is_refused(tmp_path):
  workdir = tmp_path / "run"
  process = subprocess.Popen(command(workdir), cwd=REPO_ROOT,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while saved_epoch(workdir) < 1 and time.time() < deadline:
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.wait()
  result = subprocess.run(command(workdir)[:-2] + ["--reg=l2",
                                                   f"--workdir={workdir}"],
                          cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 2
  last = result.stderr.strip().splitlines()[-1]
  assert "holds an unfinished run with other settings" in last
  assert "reg" in last and "--overwrite" in last
