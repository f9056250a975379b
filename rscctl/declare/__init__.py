"""Declarations: the hardware catalog and build models, and the loader that validates them."""

from rscctl.declare.build import Build
from rscctl.declare.catalog import Catalog, HardwareModel
from rscctl.declare.loader import load_build, resolve

__all__ = ["Build", "Catalog", "HardwareModel", "load_build", "resolve"]
