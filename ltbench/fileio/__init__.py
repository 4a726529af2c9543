"""File plumbing every writer shares: atomic writes and digests, temp files, locks, cache checks, disk faults."""
