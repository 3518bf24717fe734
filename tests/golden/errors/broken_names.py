"""Broken on purpose: names AWS would refuse. Expected: broken_names.txt."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("my pipeline", bucket="my-bucket/names")

wf.job("qc.v2", image=IMAGE, command=["true"], outputs={"o": "qc.txt"})
wf.job("normalise_counts_against_the_housekeeping_genes_of_each_condition",
       image=IMAGE, command=["true"], outputs={"o": "norm.txt"},
       env={"AWS_BATCH_QUEUE": "fast", "THREADS": "4"})
