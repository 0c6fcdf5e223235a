"""The durable batch runner: validation, line execution under leases, retries, finalize, expire, cancel."""
