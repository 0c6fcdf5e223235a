"""Jobs: files and batches (the durable runner in ``jurist.runner`` executes them)."""
