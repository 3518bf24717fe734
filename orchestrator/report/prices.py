"""List prices the report uses: the one place they live."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Step Functions Standard workflows, us-east-1 list price: $0.025 per 1,000 state transitions.
TRANSITION_PRICE_PER_1000 = Decimal("0.025")
PRICE_SOURCE = "Step Functions Standard, us-east-1 list price"


@dataclass(frozen=True)
class Prices:
    """``vcpu_hour``: what the user pays per vCPU-hour of Batch compute (None: not priced)."""

    vcpu_hour: Decimal | None = None
    transitions_per_1000: Decimal = TRANSITION_PRICE_PER_1000


def transitions_cost(transitions: int, prices: Prices) -> Decimal:
    return prices.transitions_per_1000 * transitions / 1000
