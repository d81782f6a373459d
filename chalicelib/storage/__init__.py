"""DynamoDB storage through PynamoDB: the only package that imports it, one module per concept."""
from .submissions import IdempotencyClaim, StoreResult, Submission, SubmissionStore

__all__ = ["IdempotencyClaim", "StoreResult", "Submission", "SubmissionStore"]
