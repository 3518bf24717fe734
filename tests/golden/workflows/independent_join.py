"""Four once-only jobs: c after a and b, and an independent d beside them."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("independent-join", bucket="s3://orchestrator-golden/independent-join")

a = wf.job("a", image=IMAGE, command=["make-a", "{outputs.out}"], outputs={"out": "a.txt"})
b = wf.job("b", image=IMAGE, command=["make-b", "{outputs.out}"], outputs={"out": "b.txt"})
c = wf.job("c", image=IMAGE, command=["join", "{inputs.a}", "{inputs.b}", "{outputs.out}"],
           inputs={"a": "a.txt", "b": "b.txt"}, outputs={"out": "c.txt"}, after=[a, b])
d = wf.job("d", image=IMAGE, command=["make-d", "{outputs.out}"], outputs={"out": "d.txt"})
