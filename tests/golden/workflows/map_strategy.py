"""The map strategy: each sample's stages (two side by side, then a join) in its own child
execution of a Distributed Map over the sheet in S3; 5% of samples may fail; a once-stage
gathers over every sample afterwards."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("map-strategy", bucket="s3://orchestrator-golden/map-strategy")
samples = wf.foreach("sample_id", strategy="map", max_concurrency=500,
                     tolerated_failure_percentage=5)

a = wf.job("a", image=IMAGE, command=["make-a", "{outputs.out}"],
           outputs={"out": "a/{sample_id}.txt"}, per=samples)
b = wf.job("b", image=IMAGE, command=["make-b", "{outputs.out}"],
           outputs={"out": "b/{sample_id}.txt"}, per=samples)
c = wf.job("c", image=IMAGE, command=["join", "{inputs.a}", "{inputs.b}", "{outputs.out}"],
           inputs={"a": "a/{sample_id}.txt", "b": "b/{sample_id}.txt"},
           outputs={"out": "c/{sample_id}.txt"}, after=[a, b], per=samples)
wf.job("report", image=IMAGE, command=["cat", "{inputs.c}"], stdout="all",
       inputs={"c": "c/{sample_id}.txt"}, outputs={"all": "report.txt"}, after=[c])
