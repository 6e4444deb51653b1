"""One router per resource: paths and parameters; each write route is one call to its service."""
