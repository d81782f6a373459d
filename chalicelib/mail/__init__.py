"""Email: content from MJML templates, the transports (outbox, SMTP, SES) and delivery records."""
