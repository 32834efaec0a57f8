"""Comparing directions and subspaces: cosine matrices, spans, principal angles per layer.

Principal angles between two subspaces are 0 when one contains the other's directions and pi/2
when they are orthogonal; comparing a checkpoint's agent subspace with another's at every layer
shows where training moved it.

Example:
    >>> cosine_matrix([dirs["agent1"], dirs["agent2"], dirs["agent3"]])      # [3, 3]
    >>> principal_angles(base_pca.subspace(site), imad_pca.subspace(site))  # radians, ascending
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from probes.directions import Direction, DirectionError, Subspace
from probes.errors import ProbeError

if TYPE_CHECKING:
    from jaxtyping import Float


def cosine_matrix(directions: Sequence[Direction] | Mapping[str, Direction]) -> Float[Tensor, "agent agent"]:
    """Pairwise cosine similarities; every direction must be read at the same site."""
    dirs = list(directions.values()) if isinstance(directions, Mapping) else list(directions)
    if not dirs:
        raise ProbeError("cosine_matrix needs at least one direction")
    for d in dirs[1:]:
        dirs[0]._check(d)
    V = torch.stack([d.vector.double() for d in dirs])
    norms = V.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()):
        zero = [d.label or d.site for d, n in zip(dirs, norms) if float(n) == 0]
        raise ProbeError(f"cosine is undefined for zero directions: {zero}")
    U = V / norms
    return (U @ U.T).clamp(-1, 1).float()


def span(directions: Sequence[Direction], label: str = "", tol: float = 1e-6) -> Subspace:
    """Orthonormal basis of the span of `directions` (rank-deficient directions are dropped)."""
    if not directions:
        raise ProbeError("span needs at least one direction")
    for d in directions[1:]:
        directions[0]._check(d)
    V = torch.stack([d.vector.double() for d in directions])
    _, s, vh = torch.linalg.svd(V, full_matrices=False)
    rank = int((s > tol * s.max()).sum()) if float(s.max()) > 0 else 0
    if rank == 0:
        raise ProbeError(f"the directions {[d.label for d in directions]} span nothing (all zero)")
    first = directions[0]
    return Subspace(vh[:rank].float(), first.site, method="span", label=label,
                    params={"of": [d.label for d in directions]}, model=first.model, checkpoint=first.checkpoint,
                    read_position=first.read_position, data_hash=first.data_hash)


def principal_angles(a: Subspace, b: Subspace) -> Float[Tensor, "k"]:
    """Principal angles in radians, ascending, between the spans of two bases (k = min of their ranks).

    Computed in float64 with the sine/cosine split of Björck and Golub (scipy), so identical
    subspaces give 0 to machine precision instead of the ~1e-4 that arccos of a rounded 1 gives.
    """
    from scipy.linalg import subspace_angles  # scipy comes with scikit-learn

    if a.basis.shape[1] != b.basis.shape[1]:
        raise DirectionError(f"subspaces of width {a.basis.shape[1]} ({a.site}) and {b.basis.shape[1]} ({b.site}) "
                             "cannot be compared")
    angles = subspace_angles(a.basis.double().T.numpy(), b.basis.double().T.numpy())
    return torch.from_numpy(angles).sort().values


def angles_by_layer(a: Mapping[str, Subspace], b: Mapping[str, Subspace]) -> dict[str, Tensor]:
    """`principal_angles` at every site both mappings have (keys are site names)."""
    common = [s for s in a if s in b]
    if not common:
        raise ProbeError(f"no site in common: {list(a)} vs {list(b)}")
    return {s: principal_angles(a[s], b[s]) for s in common}
