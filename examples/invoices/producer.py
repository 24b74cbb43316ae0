"""The Python side of the invoices example: what a Python service enqueues for the Go worker."""

from __future__ import annotations

from typing import Any


def invoice_args(invoice_no: int, customer_id: int, email: str, lines: list[tuple[str, int, int]],
                 currency: str = "EUR") -> dict[str, Any]:
    """send_invoice args; ``lines`` are (sku, quantity, unit price in cents)."""
    return {
        "invoice_id": f"INV-{invoice_no:06d}",
        "customer": {"id": customer_id, "email": email},
        "amount_cents": sum(qty * cents for _, qty, cents in lines),
        "currency": currency,
        "lines": [{"sku": sku, "qty": qty} for sku, qty, _ in lines],
    }


def invoice_args_wrong(invoice_no: int, customer_id: int, email: str, lines: list[tuple[str, int, int]],
                       currency: str = "EUR") -> dict[str, Any]:
    """A deliberately wrong producer: the amount in euros (a float), not in cents."""
    args = invoice_args(invoice_no, customer_id, email, lines, currency)
    args["amount_cents"] = args["amount_cents"] / 100
    return args
