"""Other detectors run as peers against labs (the original TNT)."""
