"""Hooked models: loading checkpoints, sites, positions and interventions over three backends."""

from models.errors import (
    CheckpointError, FileFormatError, InterventionError, MissingDependencyError, ModelsError, SiteError,
)
from models.hooked import Batch, Generation, HookedModel, ModelInfo
from models.interventions import Intervention
from models.load import BACKENDS, load, load_hf, wrap
from models.manifest import Manifest
from models.positions import AgentSpan, Spans
from models.registry import REGISTRY, cache_dir, materialize
from models.sites import SITE_NAMES, Site, parse_site

__all__ = [
    "AgentSpan", "BACKENDS", "REGISTRY", "SITE_NAMES", "Batch", "CheckpointError", "FileFormatError", "Generation",
    "HookedModel", "Intervention", "InterventionError", "Manifest", "MissingDependencyError", "ModelsError", "ModelInfo",
    "Site", "SiteError", "Spans", "cache_dir", "load", "load_hf", "materialize", "parse_site", "wrap",
]
