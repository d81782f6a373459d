"""Receiving a post: body parsing, control fields, origins, spam defences, survey admission, the submit service."""
