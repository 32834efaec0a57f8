"""Steering: apply agent directions, sweep alpha, and measure what it buys and what it costs."""

from steering.apply import steer, while_speaking
from steering.capability import CapabilityRow, arithmetic_accuracy, arithmetic_problems
from steering.frontier import SuppressionRule, frontier_figure, setting_lines, suppression_point
from steering.coherence import Degeneracy, degeneracy, response_perplexity
from steering.style_metrics import ROUGE_TYPES, auc_trapezoid, relative_improvement, rouge
from steering.sweep import MultiRow, SweepRow, alpha_sweep, multi_sweep
from steering.prepare import (
    SteeringError, adopt, check_fits, intervention, load_vector, save_vector, scale_to_residual, stamp,
)

__all__ = [
    "ROUGE_TYPES", "CapabilityRow", "Degeneracy", "MultiRow", "SteeringError", "SweepRow", "adopt", "alpha_sweep",
    "arithmetic_accuracy", "arithmetic_problems", "auc_trapezoid", "check_fits", "degeneracy",
    "frontier_figure", "intervention", "load_vector", "multi_sweep", "relative_improvement", "response_perplexity", "rouge", "save_vector",
    "scale_to_residual", "setting_lines", "stamp", "steer", "suppression_point", "SuppressionRule",
    "while_speaking",
]
