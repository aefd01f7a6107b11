"""Event sources: Pythia 8 quark/gluon jets (and, later, the detector simulation)."""
