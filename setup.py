"""The build: pyproject.toml has the metadata; this adds the files civicflow ships besides its code.

streams/resources.py names them (LAYOUT: name in the package -> repository folder); they are copied into the
wheel under the package that holds resources.py, in packaged/, where importlib.resources finds them. An editable
install copies nothing: there resources.py reads the repository folders.
"""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
RESOURCES_MODULE = "civicflow.streams.resources"  # the module that reads the packaged files; its package holds them


class BuildWithResources(build_py):
    """build_py, then the shipped files copied into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        module = runpy.run_path(str(HERE / "streams" / "resources.py"))  # stdlib only: safe before installation
        target = Path(self.build_lib, *RESOURCES_MODULE.split(".")[:-1], module["PACKAGED"])
        for name, folder in module["LAYOUT"].items():
            source, destination = HERE / folder, target / name
            if source.is_dir():
                shutil.copytree(source, destination, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)



def _packages() -> dict:
    """package name -> folder: civicflow/, and every package under streams/ and services/ below civicflow."""
    from setuptools import find_namespace_packages

    folders = {"civicflow": "civicflow"}
    for top in ("streams", "services"):
        for name in [top, *find_namespace_packages(where=str(HERE), include=[f"{top}.*"])]:
            if "__pycache__" not in name:
                folders[f"civicflow.{name}"] = name.replace(".", "/")
    return folders


PACKAGES = _packages()
setup(cmdclass={"build_py": BuildWithResources}, packages=list(PACKAGES),
      package_dir={"civicflow": "civicflow", "civicflow.streams": "streams", "civicflow.services": "services"})
