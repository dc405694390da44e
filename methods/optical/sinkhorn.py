"""Entropic optimal transport between token sets, batched and masked, in torch.

Pairs in a batch have different lengths: a padded row or column carries zero mass, so it gets
no transport and does not change the plan of the real tokens (the same plan as POT's solver on
the unpadded matrices). Potentials stay finite on padding (``_NEG`` instead of ``-inf``) so
that differentiating through the loop never meets ``inf - inf``.
"""

from __future__ import annotations

import torch

_NEG = -1e30  # log of zero mass, finite so gradients stay NaN-free


def cosine_cost(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``C[b, i, j] = 1 - cos(rows[b, i], cols[b, j])``, shape ``[B, n, m]``."""
    rows = torch.nn.functional.normalize(rows, dim=-1)
    cols = torch.nn.functional.normalize(cols, dim=-1)
    return 1.0 - rows @ cols.transpose(1, 2)


def _log_mass(weights: torch.Tensor) -> torch.Tensor:
    return torch.where(weights > 0, weights.clamp_min(1e-38).log(), torch.full_like(weights, _NEG))


def sinkhorn_log(
    cost: torch.Tensor, a: torch.Tensor, b: torch.Tensor, eps: float, iters: int
) -> torch.Tensor:
    """Entropic OT plans ``P[B, n, m]`` with row sums ``a[B, n]`` and column sums ``b[B, m]``.

    Log-domain Sinkhorn with a fixed number of iterations (the same updates, in the same order,
    as ``ot.sinkhorn(a, b, C, reg=eps, method="sinkhorn_log")``): ``v`` then ``u`` each
    iteration. Each of ``a`` and ``b`` sums to 1 per pair; zeros mark padding.
    """
    scaled = -cost / eps
    log_a, log_b = _log_mass(a), _log_mass(b)
    u = torch.where(a > 0, 0.0, _NEG).to(
        a.dtype
    )  # padded rows must not count in the first v update
    v = torch.zeros_like(b)
    for _ in range(iters):
        v = log_b - torch.logsumexp(scaled + u[:, :, None], dim=1)
        u = log_a - torch.logsumexp(scaled + v[:, None, :], dim=2)
    return torch.exp(scaled + u[:, :, None] + v[:, None, :])


def ot_loss(
    student: torch.Tensor,
    student_mass: torch.Tensor,
    teacher: torch.Tensor,
    teacher_mass: torch.Tensor,
    eps: float,
    iters: int,
    detach_plan: bool = True,
    center: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over the batch of ``<P, C>`` with ``C_ij = 1 - cos(student_i - c, teacher_j - c)``.

    ``center`` (``c``, default none) is subtracted from both sides first: contextual token
    vectors share one large common direction, and without centering the cheapest way to lower
    the cost is to pull every student token onto it (collapse). ``detach_plan`` treats the plan
    as fixed soft alignment targets (gradient ``P * dC``); otherwise the gradient also flows
    through the Sinkhorn iterations.
    """
    if center is not None:
        student, teacher = student - center, teacher - center
    cost = cosine_cost(student, teacher)
    plan = sinkhorn_log(
        cost.detach() if detach_plan else cost, student_mass, teacher_mass, eps, iters
    )
    if detach_plan:
        plan = plan.detach()
    return (plan * cost).sum(dim=(1, 2)).mean()
