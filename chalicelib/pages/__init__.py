"""HTML pages rendered from Jinja2 templates with autoescaping."""
