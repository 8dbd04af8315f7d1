"""Which code made a result: the stamp every results.json carries.

    {"version": "0.1.0", "source_hash": "3f2a9c01b7e4",
     "git_commit": "ca88e31...", "git_dirty": false}

`source_hash` is the first 12 hex digits of the SHA-256 of every `.py` file
of the installed `rae_tf` package (relative path and bytes, in path order):
two runs share it exactly when they ran the same library code, whether or
not the tree is a git checkout. `git_commit` and `git_dirty` (uncommitted
changes under rae_tf/) are added when the package lies in a git work tree,
else None. A table reuses a finished run only when its stamp's source hash
is the current one (`rae_tf.evaluation.table`, `benchmarks/grammar_table.py`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from typing import Optional

import rae_tf

PACKAGE_DIR = os.path.dirname(os.path.abspath(rae_tf.__file__))


@functools.cache
def source_hash() -> str:
  """12 hex digits identifying the rae_tf sources (module docstring)."""
  digest = hashlib.sha256()
  paths = []
  for directory, subdirectories, names in os.walk(PACKAGE_DIR):
    subdirectories[:] = sorted(d for d in subdirectories
                               if d != "__pycache__")
    paths += [os.path.join(directory, n) for n in names if n.endswith(".py")]
  for path in sorted(paths):
    digest.update(os.path.relpath(path, PACKAGE_DIR).encode() + b"\0")
    with open(path, "rb") as f:
      digest.update(f.read() + b"\0")
  return digest.hexdigest()[:12]


def _git(*arguments: str) -> Optional[str]:
  try:
    return subprocess.run(
        ["git", "-C", PACKAGE_DIR, *arguments], capture_output=True,
        text=True, timeout=10, check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None


@functools.cache
def git_state() -> tuple[Optional[str], Optional[bool]]:
  """(HEAD commit, whether rae_tf/ has uncommitted changes), or Nones."""
  commit = _git("rev-parse", "HEAD")
  if not commit:
    return None, None
  status = _git("status", "--porcelain", "--", PACKAGE_DIR)
  return commit, None if status is None else bool(status)


def stamp() -> dict:
  """The code stamp of a result (module docstring)."""
  commit, dirty = git_state()
  return {"version": rae_tf.__version__, "source_hash": source_hash(),
          "git_commit": commit, "git_dirty": dirty}
