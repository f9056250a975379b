"""Interval sets moved to rscctl.planner.intervals with zone resolution; re-exported here."""

from rscctl.planner.intervals import *  # noqa: F403
from rscctl.planner.intervals import __all__ as __all__
