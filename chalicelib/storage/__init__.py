"""DynamoDB storage through PynamoDB: the only package that imports it, one module per concept."""
from .submissions import SubmissionStore

__all__ = ["SubmissionStore"]
