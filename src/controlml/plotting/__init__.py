"""matplotlib figures, one module per paper section; imported lazily by callers."""
