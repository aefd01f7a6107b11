"""The report stage: comparison tables and plots across all models of a dataset."""
