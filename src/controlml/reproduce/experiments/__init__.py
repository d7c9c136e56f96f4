"""Experiment modules, one per paper section; importing one registers its entries."""
