"""Use cases: chat (judge modes and custom templates); the composition root is ``container``."""
