"""Operations: metrics, and CPU-bound work run off the event loop in a process of its own."""
