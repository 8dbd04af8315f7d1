"""Crash-safe writing: every file and directory appears whole or not at all.

Writers create a temporary sibling and rename it into place, so a run killed
mid-write leaves the previous file (or nothing), never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

from rae_tf import errors


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


def atomic_write_bytes(path: str, data: bytes) -> None:
  """Writes `data` to `path` through a temporary file and a rename."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
  try:
    # mkstemp makes the file private (0600); give it the usual permissions.
    os.fchmod(fd, 0o666 & ~_umask())
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.remove(tmp)
    raise


def atomic_write_text(path: str, text: str) -> None:
  atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_weights(model, path: str) -> None:
  """`model.save_weights(path)` through a temporary file and a rename.

  Args:
    model: a Keras model.
    path: a `.weights.h5` path; written whole or not at all.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-",
                             suffix=".weights.h5")
  os.close(fd)
  try:
    model.save_weights(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.remove(tmp)
    raise


@contextlib.contextmanager
def atomic_directory(path: str):
  """Yields a temporary directory that is renamed to `path` on success.

  Args:
    path: final directory; must not exist yet.

  Yields:
    The temporary directory to fill. On an exception it is deleted and
    `path` is left untouched.
  """
  parent = os.path.dirname(os.path.abspath(path))
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-")
  try:
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700 would hide the export
    yield tmp
    os.rename(tmp, path)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise


def prepare_workdir(path: str, overwrite: bool) -> None:
  """Creates the run directory; refuses a non-empty one unless `overwrite`.

  Raises:
    WorkdirError: `path` is a file, is non-empty without `overwrite`, or
      cannot be created.
  """
  if os.path.isfile(path):
    raise errors.WorkdirError(
        f"--workdir {path} is a file; give a directory path")
  if os.path.isdir(path) and os.listdir(path):
    if not overwrite:
      raise errors.WorkdirError(
          f"--workdir {path} is not empty; pass --overwrite to replace its "
          "contents or choose another --workdir")
    shutil.rmtree(path)
  try:
    os.makedirs(path, exist_ok=True)
    probe = os.path.join(path, ".write-test")
    with open(probe, "wb"):
      pass
    os.remove(probe)
  except OSError as e:
    raise errors.WorkdirError(
        f"cannot write to --workdir {path}: {e.strerror}; choose a writable "
        "directory") from e
