"""Two independent jobs whose names are as long as validation allows (64 characters)."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("long-names", bucket="s3://orchestrator-golden/long-names")

A = "align_each_sample_to_the_reference_genome_with_bwa_mem_then_sort"
B = "index_the_reference_genome_with_samtools_faidx_and_compress_bgzf"
first = wf.job(A, image=IMAGE, command=["align", "{outputs.bam}"], outputs={"bam": "a.bam"})
second = wf.job(B, image=IMAGE, command=["index", "{outputs.fai}"], outputs={"fai": "ref.fai"})
