"""s3_trigger: starts a run when a matching object or sample sheet is uploaded."""
