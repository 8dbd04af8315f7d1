"""The code stamp of results: source hash, version, git state."""

import os
import shutil
import subprocess
import sys

import rae_tf
from rae_tf import provenance

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_stamp_names_version_hash_and_commit():
  stamp = provenance.stamp()
  assert stamp["version"] == rae_tf.__version__
  assert len(stamp["source_hash"]) == 12
  int(stamp["source_hash"], 16)
  commit = subprocess.run(["git", "-C", REPO_ROOT, "rev-parse", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
  if commit:  # a git checkout, as in CI
    assert stamp["git_commit"] == commit
    assert stamp["git_dirty"] in (True, False)


def hash_of(package_dir):
  script = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from rae_tf import provenance; print(provenance.source_hash())")
  return subprocess.run([sys.executable, "-c", script, package_dir],
                        capture_output=True, text=True, check=True,
                        timeout=120).stdout.strip()


def test_the_hash_changes_with_any_source_file_and_nothing_else(tmp_path):
  copy = tmp_path / "tree"
  shutil.copytree(os.path.join(REPO_ROOT, "rae_tf"), copy / "rae_tf",
                  ignore=shutil.ignore_patterns("__pycache__"))
  original = hash_of(str(copy))
  assert original == provenance.source_hash()
  (copy / "rae_tf" / "notes.txt").write_text("not code")
  os.makedirs(copy / "rae_tf" / "__pycache__", exist_ok=True)
  (copy / "rae_tf" / "__pycache__" / "x.py").write_text("cache")
  assert hash_of(str(copy)) == original
  with open(copy / "rae_tf" / "grammar" / "tasks.py", "a") as f:
    f.write("# an edit\n")
  assert hash_of(str(copy)) != original
