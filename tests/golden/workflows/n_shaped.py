"""An N-shaped DAG, the smallest that is not series-parallel: a -> c, b -> c, b -> d."""

from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"

wf = Workflow("n-shaped", bucket="s3://orchestrator-golden/n-shaped")

a = wf.job("a", image=IMAGE, command=["make-a", "{outputs.out}"], outputs={"out": "a.txt"},
           timeout="10m")
b = wf.job("b", image=IMAGE, command=["make-b", "{outputs.out}"], outputs={"out": "b.txt"},
           timeout="20m")
c = wf.job("c", image=IMAGE, command=["join", "{inputs.a}", "{inputs.b}", "{outputs.out}"],
           inputs={"a": "a.txt", "b": "b.txt"}, outputs={"out": "c.txt"}, after=[a, b])
d = wf.job("d", image=IMAGE, command=["copy", "{inputs.b}", "{outputs.out}"],
           inputs={"b": "b.txt"}, outputs={"out": "d.txt"}, after=[b])
