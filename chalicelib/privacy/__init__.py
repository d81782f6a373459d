"""Deleting a submission with what was derived from it; export and erasure by email address."""
