"""Cases: every submission as a piece of feedback to react to, with the standard reaction of its kind."""
