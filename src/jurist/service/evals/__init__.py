"""Evals: the OpenAI Evals API (evals, runs, output items, graders), run on the batch runner."""
