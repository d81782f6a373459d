"""Webhooks: each event a form names, signed per Standard Webhooks, delivered with retries, visible, replayable."""
