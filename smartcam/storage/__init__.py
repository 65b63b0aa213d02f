"""Storage: the spool's budget, the verified upload to the NAS, its mount checks, retention."""
