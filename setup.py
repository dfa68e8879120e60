"""Builds rtcore and its C core (csrc/) through cffi: see pymodule/build_rtcore.py."""
from setuptools import setup

setup(
    cffi_modules=["pymodule/build_rtcore.py:ffibuilder"],
)
