"""Trust: human labels of batch lines, the calibrations fitted on them, calibrated confidence and
selective verdicts with a guarantee, and batch reports of agreement."""
