"""Model architectures; registered by versioned name in :mod:`mlcore.registry`."""
