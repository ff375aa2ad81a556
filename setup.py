"""Packaging hook: the lab library (topologies/) and the FRR templates (router-configs/) live at
the top of the repository, where people look for them; a built wheel carries copies of both
inside the package (testbed/_data/), so a non-editable install finds them too (testbed.TOPOLOGIES)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = ("topologies", "router-configs")


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        here = Path(__file__).resolve().parent
        for name in DATA:
            dst = Path(self.build_lib) / "testbed" / "_data" / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(here / name, dst, symlinks=False,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithLibrary})
