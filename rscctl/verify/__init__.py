"""Verifiers: prove properties of rendered artifacts by running the real tools on them."""
