"""The N-shaped DAG inside one fan-out block: a -> c, b -> c, b -> d for every sample."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("n-shaped-per-sample", bucket="s3://orchestrator-golden/n-shaped-per-sample")
samples = wf.foreach("sample_id")

a = wf.job("a", image=IMAGE, command=["make-a", "{outputs.out}"],
           outputs={"out": "a/{sample_id}.txt"}, per=samples)
b = wf.job("b", image=IMAGE, command=["make-b", "{outputs.out}"],
           outputs={"out": "b/{sample_id}.txt"}, per=samples)
c = wf.job("c", image=IMAGE, command=["join", "{inputs.a}", "{inputs.b}", "{outputs.out}"],
           inputs={"a": "a/{sample_id}.txt", "b": "b/{sample_id}.txt"},
           outputs={"out": "c/{sample_id}.txt"}, after=[a, b], per=samples)
d = wf.job("d", image=IMAGE, command=["copy", "{inputs.b}", "{outputs.out}"],
           inputs={"b": "b/{sample_id}.txt"}, outputs={"out": "d/{sample_id}.txt"},
           after=[b], per=samples)
