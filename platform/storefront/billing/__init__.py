"""Billing of shops by the platform through Stripe Billing (issue 34).

A subscription per shop on the platform's own Stripe account, its plan kept in step by
signed webhooks (``events``), dunning through time (``services.dunning_step``, run by
the periodic jobs), and the operator's acts (``tenantctl billing``). See
docs/operators.md ("Billing").
"""
