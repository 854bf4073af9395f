"""On/off settings from the environment: every spelling the README lists, the default when
unset, and a clear stop on anything else (a typo must not quietly turn TLS off)."""

import pytest

from config import flag


@pytest.mark.parametrize("value", ["1", "true", "Yes", " ON "])
def test_on(monkeypatch, value):
    monkeypatch.setenv("TYNDA_TEST_FLAG", value)
    assert flag("TYNDA_TEST_FLAG", False) is True


@pytest.mark.parametrize("value", ["0", "false", "NO", "off"])
def test_off(monkeypatch, value):
    monkeypatch.setenv("TYNDA_TEST_FLAG", value)
    assert flag("TYNDA_TEST_FLAG", True) is False


def test_unset_or_empty_is_the_default(monkeypatch):
    monkeypatch.delenv("TYNDA_TEST_FLAG", raising=False)
    assert flag("TYNDA_TEST_FLAG", True) is True
    monkeypatch.setenv("TYNDA_TEST_FLAG", "")
    assert flag("TYNDA_TEST_FLAG", False) is False


def test_anything_else_names_the_setting(monkeypatch):
    monkeypatch.setenv("TYNDA_TEST_FLAG", "ture")
    with pytest.raises(ValueError, match="TYNDA_TEST_FLAG.*'ture'"):
        flag("TYNDA_TEST_FLAG", False)
