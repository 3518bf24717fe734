"""GPUs and retries: a GPU training job retried only on chosen exit codes, and a CPU job
with plain retries (Spot reclaims and image-pull failures only)."""

from orchestrator import Workflow

wf = Workflow("gpus-retries", bucket="s3://orchestrator-golden/gpus-retries")

prepare = wf.job("prepare", image="public.ecr.aws/docker/library/python:3.12-slim",
                 command=["prepare", "{outputs.data}"], outputs={"data": "data/train.npz"},
                 cpus=4, memory="16 GiB", retries=2, timeout="30m")
train = wf.job("train", image="nvcr.io/nvidia/pytorch:24.05-py3",
               command=["python", "train.py", "--data", "{inputs.data}", "--out",
                        "{outputs.model}"],
               inputs={"data": "data/train.npz"}, outputs={"model": "models/model.pt"},
               cpus=8, memory="60 GiB", gpus=2, retries=3, retry_exit_codes=[137, 143],
               timeout="6h", after=[prepare])
