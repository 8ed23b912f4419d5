"""Payment providers' adapters: Stripe's webhook signature check (the `billing` extra)."""
