"""Webhook adapters: the HTTP sender the dispatcher (continuum.core.webhook_service) sends with."""
