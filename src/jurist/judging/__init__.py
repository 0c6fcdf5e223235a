"""Pure judging domain: items, criteria, prompts, verdict schema, parsing ladder, PAI text rendering."""
