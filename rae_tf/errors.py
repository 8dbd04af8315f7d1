"""Errors the command line reports as one line, without a traceback.

Each message says what was wrong and what to do about it.
"""


class UserError(Exception):
  """Base of the errors caused by the user's input or environment."""


class ConfigError(UserError, ValueError):
  """A flag or configuration value is out of range or inconsistent."""


class WorkdirError(UserError):
  """The work directory cannot be used as asked."""


class NonFiniteLossError(UserError, RuntimeError):
  """Training produced a NaN or infinite loss."""
