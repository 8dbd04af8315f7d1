"""Tests of rae_tf.errors: what the command lines print and exit with."""

import errno

import pytest

from rae_tf import errors


def _exit_of(error, capsys):
  with pytest.raises(SystemExit) as exit_info:
    with errors.reported_as_one_line("prog", after_os_error="rerun it"):
      raise error
  return exit_info.value.code, capsys.readouterr().err


def test_a_user_error_is_one_line_and_status_2(capsys):
  status, err = _exit_of(errors.ConfigError("--epochs must be >= 1; got 0"),
                         capsys)
  assert (status, err) == (2, "prog: error: --epochs must be >= 1; got 0\n")


def test_a_non_finite_loss_is_status_1(capsys):
  status, err = _exit_of(errors.NonFiniteLossError("loss is nan"), capsys)
  assert (status, err) == (1, "prog: error: loss is nan\n")


def test_an_os_error_names_the_file_and_what_to_do(capsys):
  error = OSError(errno.ENOSPC, "No space left on device", "/runs/x/ckpt.h5")
  status, err = _exit_of(error, capsys)
  assert status == 2
  assert err == ("prog: error: No space left on device (/runs/x/ckpt.h5); "
                 "free space or fix permissions, then rerun it\n")


def test_other_errors_and_success_pass_through():
  with pytest.raises(KeyError):
    with errors.reported_as_one_line("prog", after_os_error="rerun it"):
      raise KeyError("a bug, not the user's")
  with errors.reported_as_one_line("prog", after_os_error="rerun it"):
    value = 1
  assert value == 1
