"""Thin helpers over boto3 clients the CLI creates: start runs, list them, deploy with the SAM
CLI, and hand a workflow to the Step Functions Data Science SDK. No module here creates a
client or reads a file: callers pass them in, so tests run against moto."""
