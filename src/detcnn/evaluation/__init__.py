"""Evaluation: ROC, AUC, background rejection, bootstrap uncertainties, the same for every model."""
