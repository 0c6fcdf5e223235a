"""Tenancy: keys and tenants, sign-in, per-tenant limits and fair shares, usage."""
