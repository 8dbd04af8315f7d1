"""Crash-safe writers and the work-directory guard."""

import os

import pytest

from rae_tf import errors
from rae_tf import files


def test_atomic_write_replaces_whole_file(tmp_path):
  path = str(tmp_path / "results.json")
  files.atomic_write_text(path, "old")
  files.atomic_write_text(path, "new")
  assert open(path).read() == "new"
  assert os.listdir(tmp_path) == ["results.json"]


def test_failed_directory_write_leaves_nothing(tmp_path):
  final = str(tmp_path / "export" / "1")
  with pytest.raises(RuntimeError):
    with files.atomic_directory(final) as tmp:
      open(os.path.join(tmp, "saved_model.pb"), "w").write("partial")
      raise RuntimeError("killed during export")
  assert not os.path.exists(final)
  assert os.listdir(tmp_path / "export") == []


def test_successful_directory_write_appears_whole(tmp_path):
  final = str(tmp_path / "1")
  with files.atomic_directory(final) as tmp:
    open(os.path.join(tmp, "a"), "w").write("x")
    assert not os.path.exists(final)
  assert os.listdir(final) == ["a"]


def test_non_empty_workdir_needs_overwrite(tmp_path):
  (tmp_path / "old.txt").write_text("previous run")
  with pytest.raises(errors.WorkdirError, match="--overwrite"):
    files.prepare_workdir(str(tmp_path), overwrite=False)
  assert (tmp_path / "old.txt").exists()
  files.prepare_workdir(str(tmp_path), overwrite=True)
  assert os.listdir(tmp_path) == []


def test_workdir_that_is_a_file_is_rejected(tmp_path):
  path = tmp_path / "file"
  path.write_text("")
  with pytest.raises(errors.WorkdirError, match="is a file"):
    files.prepare_workdir(str(path), overwrite=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_workdir_is_rejected(tmp_path):
  tmp_path.chmod(0o500)
  try:
    with pytest.raises(errors.WorkdirError, match="cannot write"):
      files.prepare_workdir(str(tmp_path / "run"), overwrite=False)
  finally:
    tmp_path.chmod(0o700)


def test_workdir_under_a_file_is_rejected_even_as_root(tmp_path):
  parent = tmp_path / "not-a-directory"
  parent.write_text("")
  with pytest.raises(errors.WorkdirError,
                     match="cannot write to --workdir .*: Not a directory"):
    files.prepare_workdir(str(parent / "run"), overwrite=False)


def test_outputs_get_the_usual_permissions_not_private_ones(tmp_path):
  old = os.umask(0o022)
  try:
    files.atomic_write_text(str(tmp_path / "a.json"), "{}")
    with files.atomic_directory(str(tmp_path / "1")):
      pass
  finally:
    os.umask(old)
  assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
  assert (tmp_path / "1").stat().st_mode & 0o777 == 0o755
