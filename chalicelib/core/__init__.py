"""The domain's common ground: configuration, errors, clock, ids, the Submission entity, the cursor codec."""
