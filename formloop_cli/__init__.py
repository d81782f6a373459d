"""The `formloop` command: local runs, the delivery worker, packaging, definition and gift tools.

None of it ships to Lambda (`chalice package` bundles only app.py and chalicelib/).
"""
