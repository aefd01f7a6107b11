"""Training: one loop for every model and task; task-specific parts are small plug-ins."""
