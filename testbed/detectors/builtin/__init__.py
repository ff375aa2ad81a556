"""The built-in detectors, one module each with a `DETECTOR` (testbed.detectors.registry finds
them): adding a detector to the testbed is one new file here and its test."""
