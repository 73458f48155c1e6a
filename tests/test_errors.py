"""Every exception and warning class of the package lives in errors.py and is exported."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import khorasan_map
from khorasan_map import errors


def _package_modules():
    for info in pkgutil.iter_modules(khorasan_map.__path__):
        yield importlib.import_module(f"khorasan_map.{info.name}")


def test_every_exception_class_is_defined_in_errors():
    defined_elsewhere = [
        f"{module.__name__}.{name}"
        for module in _package_modules()
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == module.__name__
        and module is not errors
    ]
    assert defined_elsewhere == []


def test_every_class_of_errors_is_exported():
    classes = [
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and value.__module__ == errors.__name__
    ]
    assert len(classes) >= 8
    for name in classes:
        assert name in khorasan_map.__all__
        assert getattr(khorasan_map, name) is getattr(errors, name)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("gazetteer", "UnknownProvincesError"),
        ("boundaries", "BoundaryRepairWarning"),
        ("export", "OfflineAssetError"),
    ],
)
def test_old_import_paths_still_work(module, name):
    assert getattr(importlib.import_module(f"khorasan_map.{module}"), name) is getattr(errors, name)


def test_errors_subclass_builtins():
    for name, value in vars(errors).items():
        if inspect.isclass(value) and value.__module__ == errors.__name__:
            if issubclass(value, Warning):
                assert issubclass(value, UserWarning), name
            elif issubclass(value, KeyboardInterrupt):
                assert value is errors.Interrupted, name
            else:
                assert issubclass(value, errors.KhorasanMapError), name
                assert issubclass(value, (ValueError, OSError)) or value is errors.KhorasanMapError
