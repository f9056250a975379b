"""rscctl: plan, export, apply and verify an AI research supercluster from its declaration."""

__version__ = "0.1.0"
