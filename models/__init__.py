"""Hooked models: loading checkpoints, sites, positions and interventions over three backends."""

from models.errors import CheckpointError, InterventionError, MissingDependencyError, SiteError
from models.hooked import Batch, Generation, HookedModel, ModelInfo
from models.interventions import Intervention
from models.load import BACKENDS, load, load_hf, wrap
from models.manifest import Manifest
from models.positions import AgentSpan, Spans
from models.registry import REGISTRY, cache_dir, materialize
from models.sites import SITE_NAMES, Site, parse_site

__all__ = [
    "AgentSpan", "BACKENDS", "REGISTRY", "SITE_NAMES", "Batch", "CheckpointError", "Generation", "HookedModel", "Intervention",
    "InterventionError", "Manifest", "MissingDependencyError", "ModelInfo", "Site", "SiteError", "Spans",
    "cache_dir", "load", "load_hf", "materialize", "parse_site", "wrap",
]
