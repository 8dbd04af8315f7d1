"""Errors the command line reports as one line, without a traceback.

Each message says what was wrong and what to do about it.
"""

import contextlib
import sys


class UserError(Exception):
  """Base of the errors caused by the user's input or environment."""


class ConfigError(UserError, ValueError):
  """A flag or configuration value is out of range or inconsistent."""


class WorkdirError(UserError):
  """The work directory cannot be used as asked."""


class NonFiniteLossError(UserError, RuntimeError):
  """Training produced a NaN or infinite loss."""


@contextlib.contextmanager
def reported_as_one_line(program: str, after_os_error: str):
  """Ends the process with one line on stderr for a user or file-system error.

  Exit status 1 for a NaN/inf loss, 2 for any other `UserError` and for an
  `OSError` (disk full, permissions changed mid-run), whose line ends with
  `after_os_error`, e.g. "rerun the same command to resume".

  Args:
    program: prefix of the line, e.g. "rae_tf".
    after_os_error: what to do once the space or permissions are fixed.
  """
  try:
    yield
  except UserError as e:
    sys.stderr.write(f"{program}: error: {e}\n")
    sys.exit(1 if isinstance(e, NonFiniteLossError) else 2)
  except OSError as e:
    sys.stderr.write(f"{program}: error: {e.strerror or e} "
                     f"({e.filename or 'while writing'}); free space or fix "
                     f"permissions, then {after_os_error}\n")
    sys.exit(2)
