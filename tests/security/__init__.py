"""Regression tests of the multi-tenant security probe (issue 18): each fails without its fix."""
