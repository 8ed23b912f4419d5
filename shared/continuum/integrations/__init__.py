"""Adapters from agent frameworks onto CONTINUUM (through the SDK, `continuum.client`)."""
