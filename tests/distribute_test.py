"""Two CPU workers on 127.0.0.1 under MultiWorkerMirroredStrategy."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def flags(workdir, *extra):
  return [sys.executable, "-m", "rae_tf.main", "--flagfile=flags/smoke.flags",
          "--deterministic", f"--workdir={workdir}", *extra]


def test_two_workers_agree_and_match_one_worker(tmp_path, read_weights):
  ports = free_ports(2)
  cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
  workdir = tmp_path / "two_workers"
  processes = [
      subprocess.Popen(
          flags(workdir, "--distribute=multi_worker"), cwd=REPO_ROOT,
          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps(
                   {"cluster": cluster,
                    "task": {"type": "worker", "index": index}})})
      for index in range(2)]
  try:
    outputs = [p.communicate(timeout=300) for p in processes]
  finally:
    for p in processes:  # bounded: never leave a worker behind
      p.kill()
  for p, (_, err) in zip(processes, outputs):
    assert p.returncode == 0, err[-3000:]
  assert "the chief (worker 0) writes the outputs" in outputs[1][0]

  # Both workers end with the same weights (chief: last resume checkpoint).
  checkpoints = workdir / "checkpoints"
  chief = read_weights(checkpoints / "resume" / "epoch-0002.weights.h5")
  other = read_weights(checkpoints / "worker-1.weights.h5")
  shared = [k for k in chief if k in other and not k.startswith("optimizer")]
  assert len(shared) > 20
  for key in shared:
    np.testing.assert_array_equal(chief[key], other[key], err_msg=key)

  # One worker on the same global batch of 100: synchronised batch norm and
  # replica-scaled gradients make it the same computation.
  single = tmp_path / "one_worker"
  result = subprocess.run(flags(single), cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  two, one = (json.loads((d / "results.json").read_text())
              for d in (workdir, single))
  assert two["final_train"]["loss"] == pytest.approx(
      one["final_train"]["loss"], rel=1e-3)
  assert two["test"]["reconstruction"] == pytest.approx(
      one["test"]["reconstruction"], rel=1e-3)
