"""A non-editable install ships one import package, `unrolled`, with every source package, the page's
template and its scripts, and runs from there (not from the repository)."""

from __future__ import annotations

import configparser
import json
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "unrolled", "engine", "server", "templates", "static")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install --no-deps --target` of a copy of the repository (the build leaves nothing in it)."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    target = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-compile", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def test_exactly_one_top_level_import_package(installed: Path):
    top = {p.name for p in installed.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin"}
    assert top == {"unrolled"}


def test_every_source_package_and_module_is_installed(installed: Path):
    for folder, package in (("engine", "unrolled/engine"), ("server", "unrolled/server")):
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            assert (installed / package / relative / "__init__.py").is_file(), f"{folder}/{relative} is not installed"
        for module in (REPO / folder).rglob("*.py"):
            assert (installed / package / module.relative_to(REPO / folder)).is_file(), module


def test_the_page_ships_inside_the_package(installed: Path):
    server = installed / "unrolled" / "server"
    assert (server / "templates" / "index.html").is_file()
    scripts = sorted(p.name for p in (REPO / "static" / "js").glob("*.js"))
    assert scripts and sorted(p.name for p in (server / "static" / "js").glob("*.js")) == scripts


def test_the_console_script_and_the_app_import_from_the_install(installed: Path):
    (dist_info,) = installed.glob("unrolled-*.dist-info")
    entry_points = configparser.ConfigParser()
    entry_points.read(dist_info / "entry_points.txt")
    assert entry_points["console_scripts"]["unrolled"] == "unrolled.server.cli:main"
    # -S: no site module, so no .pth file runs and the checkout's editable install cannot answer
    check = ("import json, sys; sys.path[:0] = [sys.argv[1]]; sys.path += json.loads(sys.argv[2]); "
             "import unrolled.server.app as a, unrolled.server.cli, unrolled.server.paths as p; "
             "outside = [n for n, m in sys.modules.items() if n.startswith('unrolled') "
             "and not (m.__file__ or '').startswith(sys.argv[1])]; assert not outside, outside; "
             "assert str(p.TEMPLATES_DIR).startswith(sys.argv[1]) and str(p.STATIC_DIR).startswith(sys.argv[1]); "
             "assert a.app.title == 'Unrolled'")
    subprocess.run([sys.executable, "-S", "-c", check, str(installed), json.dumps(site.getsitepackages())],
                   check=True, cwd=installed)
