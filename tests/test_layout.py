"""The tests mirror the source tree: a test package under tests/streams or tests/services is named after the
package it tests, and a test module directly in one of them after a module there (test_settings.py tests
streams/settings.py). Inside a package, a test module is named after its module or, when it crosses modules,
after the behaviour it proves (test_failover_integration.py)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _strays(top: str) -> list[str]:
    strays = []
    for path in sorted((ROOT / "tests" / top).iterdir()):
        if path.name.startswith(("_", ".")) or path.name == "conftest.py":
            continue
        if path.is_dir():
            if not (ROOT / top / path.name).is_dir():
                strays.append(f"tests/{top}/{path.name}/")
        elif path.suffix == ".py":
            module = path.stem.removeprefix("test_").removesuffix("_integration")
            if not (ROOT / top / f"{module}.py").exists():
                strays.append(f"tests/{top}/{path.name}")
    return strays


def test_every_test_package_and_top_module_names_what_it_tests():
    assert _strays("streams") + _strays("services") == []


def test_a_stray_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.test_layout.ROOT", tmp_path)
    (tmp_path / "streams" / "routing").mkdir(parents=True)
    (tmp_path / "tests" / "streams" / "routing").mkdir(parents=True)
    (tmp_path / "tests" / "streams" / "routes").mkdir()
    (tmp_path / "tests" / "streams" / "test_nothing.py").write_text("")
    assert _strays("streams") == ["tests/streams/routes/", "tests/streams/test_nothing.py"]
