"""Distribution templates, the model catalog, and run-config building and validation."""
