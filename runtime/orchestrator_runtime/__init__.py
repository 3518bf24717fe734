"""Job-side and Lambda-side runtime: the contract, output checks, job state, the job runner.

Standard library and boto3 only, so it can ship in a Lambda layer and in job images.
"""
