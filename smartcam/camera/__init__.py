"""The realtime camera process: source, motion detector, pre-roll ring and clip writer."""
