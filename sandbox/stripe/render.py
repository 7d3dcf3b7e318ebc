"""Stripe objects in the shapes of ``fixtures3.json`` (current) that also satisfy the 2023-08-16
schema: integer minor units, lower-case currencies, unix-second times."""

from __future__ import annotations

from typing import Any

from sandbox.common.people import Person
from sandbox.stripe.model import Account, BalanceTransaction, Charge, Dispute, Payout, Refund


def _address(person: Person) -> dict[str, Any]:
    return {
        "city": person.city,
        "country": person.country,
        "line1": person.line1,
        "line2": None,
        "postal_code": person.postal_code,
        "state": person.state,
    }


def balance_transaction_json(bt: BalanceTransaction, now: int) -> dict[str, Any]:
    return {
        "id": bt.id,
        "object": "balance_transaction",
        "amount": bt.amount,
        "available_on": bt.available_on,
        "balance_type": "payments",
        "created": bt.created,
        "currency": bt.currency,
        "description": bt.description,
        "exchange_rate": None,
        "fee": bt.fee,
        "fee_details": [
            {
                "amount": amount,
                "application": None,
                "currency": bt.currency,
                "description": text,
                "type": kind,
            }
            for amount, kind, text in bt.fee_details
        ],
        "net": bt.net,
        "reporting_category": bt.reporting_category,
        "source": bt.source,
        "status": "available" if bt.available_on <= now else "pending",
        "type": bt.type,
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "balance_transaction": refund.balance_transaction,
        "charge": refund.charge,
        "created": refund.created,
        "currency": refund.currency,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": {},
        "payment_intent": refund.payment_intent,
        "reason": refund.reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def charge_json(charge: Charge, account: Account) -> dict[str, Any]:
    person = charge.buyer
    refunded = charge.amount_refunded
    exp_month, exp_year = charge.card_exp
    descriptor = account.profile.business_name.upper()[:22]
    return {
        "id": charge.id,
        "object": "charge",
        "amount": charge.amount,
        "amount_captured": charge.amount,
        "amount_refunded": refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": charge.balance_transaction,
        "billing_details": {
            "address": _address(person),
            "email": person.email,
            "name": person.name,
            "phone": person.phone,
        },
        "calculated_statement_descriptor": descriptor,
        "captured": True,
        "created": charge.created,
        "currency": charge.currency,
        "customer": None,
        "description": charge.description,
        "disputed": charge.dispute is not None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": charge.risk_score,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": charge.payment_intent,
        "payment_method": charge.payment_method,
        "payment_method_details": {
            "card": {
                "brand": charge.card_brand,
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": "pass",
                    "cvc_check": "pass",
                },
                "country": person.country,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "fingerprint": charge.fingerprint,
                "funding": "credit",
                "installments": None,
                "last4": charge.card_last4,
                "mandate": None,
                "network": charge.card_brand,
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "receipt_email": person.email,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge.id}",
        "refunded": refunded >= charge.amount,
        "refunds": {
            "object": "list",
            "data": [refund_json(r) for r in sorted(charge.refunds, key=lambda r: -r.created)],
            "has_more": False,
            "url": f"/v1/charges/{charge.id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def dispute_json(dispute: Dispute, now: int) -> dict[str, Any]:
    due_by = dispute.created - dispute.created % 86_400 + 10 * 86_400 - 1
    return {
        "id": dispute.id,
        "object": "dispute",
        "amount": dispute.amount,
        "balance_transactions": [
            balance_transaction_json(bt, now)
            for bt in dispute.balance_transactions
            if bt.created <= now
        ],
        "charge": dispute.charge,
        "created": dispute.created,
        "currency": dispute.currency,
        "evidence": {key: None for key in _EVIDENCE_FIELDS},
        "evidence_details": {
            "due_by": due_by,
            "has_evidence": dispute.status in ("won", "lost", "under_review"),
            "past_due": dispute.status == "needs_response" and now > due_by,
            "submission_count": 1 if dispute.status in ("won", "lost", "under_review") else 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": dispute.payment_intent,
        "payment_method_details": {
            "card": {"brand": dispute.card_brand, "network_reason_code": "10.4"},
            "type": "card",
        },
        "reason": dispute.reason,
        "status": dispute.status,
    }


_EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


def payout_json(payout: Payout, now: int) -> dict[str, Any]:
    paid = payout.arrival_date <= now
    return {
        "id": payout.id,
        "object": "payout",
        "amount": payout.amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": payout.arrival_date,
        "automatic": True,
        "balance_transaction": payout.balance_transaction,
        "created": payout.created,
        "currency": payout.currency,
        "description": "STRIPE PAYOUT",
        "destination": payout.destination,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "original_payout": None,
        "reconciliation_status": "completed" if paid else "in_progress",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "paid" if paid else "in_transit",
        "trace_id": {"status": "supported" if paid else "pending", "value": None},
        "type": "bank_account",
    }


def account_json(account: Account) -> dict[str, Any]:
    p = account.profile
    return {
        "id": account.id,
        "object": "account",
        "business_profile": {
            "mcc": p.mcc,
            "name": p.business_name,
            "product_description": p.product,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": "company",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"},
        "country": p.country,
        "created": account.created,
        "default_currency": p.currency,
        "details_submitted": True,
        "email": None,
        "metadata": {},
        "payouts_enabled": True,
        "settings": {
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": True},
                "statement_descriptor_prefix": None,
            },
            "dashboard": {"display_name": p.business_name, "timezone": p.timezone},
            "payments": {"statement_descriptor": p.business_name.upper()[:22]},
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "weekly", "weekly_anchor": "monday"},
                "statement_descriptor": None,
            },
        },
        "type": "standard",
    }
