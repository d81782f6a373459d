"""Reading DynamoDB Streams images of the submissions table back into Submissions."""
from __future__ import annotations

from typing import Any

from .submissions import Submission, SubmissionStore


def submission_from_image(store: SubmissionStore, image: dict[str, Any]) -> Submission:
    """A stream record's NewImage (DynamoDB JSON) as a Submission, read by the table's own model."""
    record = store.submissions.from_raw_data(image)
    return SubmissionStore._submission(record)
