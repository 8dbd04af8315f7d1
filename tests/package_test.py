"""pyproject.toml: console scripts, dependency ranges vs pins, packages."""

import glob
import os
import re
import subprocess
import sys
import textwrap
import tomllib

import pytest
import setuptools
from packaging import requirements
from packaging import utils

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Pinned under another name in requirements.txt: the CPU build of the same
# TensorFlow release (pyproject.toml says why it declares `tensorflow`).
PINNED_AS = {"tensorflow": "tensorflow-cpu"}
# Pinned but deliberately not declared, with the reason.
NOT_DECLARED = {
    "tensorflow-cpu": "declared as tensorflow (PINNED_AS)",
    "molsets": "data only; its dependencies pull torch (install --no-deps)",
}


@pytest.fixture(scope="module")
def project():
  with open(os.path.join(REPO_ROOT, "pyproject.toml"), "rb") as f:
    return tomllib.load(f)


def pins() -> dict[str, str]:
  """Canonical name -> pinned version, over every requirements*.txt."""
  pinned = {}
  for path in glob.glob(os.path.join(REPO_ROOT, "requirements*.txt")):
    with open(path) as f:
      for line in f:
        line = line.split("#")[0].strip()
        if not line:
          continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)", line)
        assert match, f"{os.path.basename(path)}: {line!r} is not name==ver"
        pinned[utils.canonicalize_name(match.group(1))] = match.group(3)
  return pinned


def declared(project) -> list[requirements.Requirement]:
  """Every dependency of pyproject.toml, runtime and optional."""
  texts = list(project["project"]["dependencies"])
  for extra in project["project"].get("optional-dependencies", {}).values():
    texts.extend(extra)
  return [requirements.Requirement(text) for text in texts]


def test_console_script_targets_are_zero_argument_callables(project):
  scripts = project["project"]["scripts"]
  assert set(scripts) == {"rae-tf-train", "rae-tf-table", "rae-tf-grammar",
                          "rae-tf-convert-inception"}
  # One process per target: rae_tf.main (rae_tf.training_flags) and
  # rae_tf.grammar.main both define absl flags such as --model, so they
  # cannot be imported together.
  for script, target in scripts.items():
    module, _, attribute = target.partition(":")
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import importlib, inspect
        target = getattr(importlib.import_module({module!r}), {attribute!r})
        assert callable(target), target
        inspect.signature(target).bind()  # callable with no arguments
        print("OK")
        """)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.stdout.strip() == "OK", (script, result.stderr[-2000:])


def test_every_declared_dependency_admits_its_pinned_version(project):
  pinned = pins()
  for requirement in declared(project):
    name = utils.canonicalize_name(requirement.name)
    pin_name = PINNED_AS.get(name, name)
    assert pin_name in pinned, (
        f"{requirement} is declared in pyproject.toml but {pin_name} is "
        "pinned in no requirements*.txt; pin the tested version there")
    assert requirement.specifier.contains(pinned[pin_name],
                                          prereleases=True), (
        f"pyproject.toml's {requirement} excludes the pinned "
        f"{pin_name}=={pinned[pin_name]}; widen the range or update the pin")


def test_every_pin_is_declared_or_excused(project):
  names = {PINNED_AS.get(utils.canonicalize_name(r.name),
                         utils.canonicalize_name(r.name))
           for r in declared(project)}
  missing = set(pins()) - names - set(NOT_DECLARED)
  assert not missing, (
      f"pinned in requirements*.txt but not in pyproject.toml: "
      f"{sorted(missing)}; declare them or add them to NOT_DECLARED")


def test_found_packages_are_every_directory_with_an_init(project):
  find = project["tool"]["setuptools"]["packages"]["find"]
  assert find.get("namespaces") is False
  found = setuptools.find_packages(where=REPO_ROOT,
                                   include=find.get("include", ("*",)),
                                   exclude=find.get("exclude", ()))
  expected, without_init = set(), []
  for directory, subdirectories, names in os.walk(
      os.path.join(REPO_ROOT, "rae_tf")):
    subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
    package = os.path.relpath(directory, REPO_ROOT).replace(os.sep, ".")
    if "__init__.py" in names:
      expected.add(package)
    elif any(name.endswith(".py") for name in names):
      without_init.append(package)
  assert {"rae_tf", "rae_tf.readers", "rae_tf.grammar"} <= expected
  assert not without_init, f"add an __init__.py to {without_init}"
  assert set(found) == expected


def test_package_needs_no_data_files():
  # pyproject.toml declares no package data: a file other than .py under
  # rae_tf/ would be missing from the wheel.
  others = [os.path.join(directory, name)
            for directory, subdirectories, names in os.walk(
                os.path.join(REPO_ROOT, "rae_tf"))
            if "__pycache__" not in directory
            for name in names if not name.endswith((".py", ".pyc"))]
  assert not others, (
      f"{others} would not be installed; add them to "
      "[tool.setuptools.package-data] in pyproject.toml")


def test_version_matches_the_package(project):
  import rae_tf  # pylint: disable=g-import-not-at-top
  assert project["project"]["version"] == rae_tf.__version__
