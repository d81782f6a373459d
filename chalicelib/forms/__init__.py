"""Form definitions: loading, the registry, definition checks, patterns, formats and the checks of answers."""
