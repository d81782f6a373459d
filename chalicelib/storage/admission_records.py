"""The tables admissions write to, as PynamoDB models: rate-limit counters and survey places and markers.

limits.py and surveys.py bind them on first need, so a cold start whose post takes no admission never imports
PynamoDB.
"""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model


class RateCounterRecord(Model):
    """How many times one key was used in one window."""

    class Meta:
        table_name = "unbound-rate-limits"

    key = UnicodeAttribute(hash_key=True)
    uses = NumberAttribute(default=0, attr_name="count")  # not `count`: Model.count is a query
    expires_at = TTLAttribute()


class SurveyRecord(Model):
    """A survey's response counter ("responses") or a respondent marker ("email#<sha256>")."""

    class Meta:
        table_name = "unbound-surveys"

    form = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    taken = NumberAttribute(null=True)  # responses counted (on the "responses" item)
    attempt = UnicodeAttribute(null=True)  # the submission id that placed the marker
    created_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
