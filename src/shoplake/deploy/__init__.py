"""Declarative, idempotent provisioning (``shoplake deploy``)."""

from shoplake.deploy.apply import Change, deploy
from shoplake.deploy.resources import DATASETS, RAW_DATASETS, Plan, build_plan

__all__ = ["DATASETS", "RAW_DATASETS", "Change", "Plan", "build_plan", "deploy"]
