"""job_events: Batch and Step Functions status changes into the job-state table."""
