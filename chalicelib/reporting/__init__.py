"""What owners read: survey results and submission exports."""
