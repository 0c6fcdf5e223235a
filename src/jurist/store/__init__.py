"""Persistence, by concern, each a small protocol and its SQL implementation over one shared
``database.Database`` (SQLite or PostgreSQL, queries written once):

    files.FileStore           file records, per tenant          chunks.ChunkStore   file bytes in the database
    batches.BatchStore        batches as the API sees them      cache.CacheStore    the judge cache
    batch_tasks.BatchTasks    the runner's batch-level work     queue.LineQueue     request lines under leases

plus ``blobs`` (file bytes on disk or in chunks), ``migrations`` and ``catalogue`` (the schema as the
database reports it), ``keys`` (the API key file). The composition root builds the stores.
"""
