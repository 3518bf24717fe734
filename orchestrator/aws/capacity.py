"""What Batch compute can hold: EC2 instance sizes and Fargate's vCPU/memory pairs, as data.

The instance table covers the families Batch picks for ``optimal``/``default_*`` and the common
GPU families. A type or family missing here is reported as unknown, never guessed. Sizes are
nominal: the ECS agent keeps part of an instance's memory, so a job asking for all of it does not
fit either (checked against each family's published size list).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator_runtime import limits


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    gpus: int = 0


def _family(family: str, gib_per_vcpu: float, sizes: dict[str, int]) -> dict[str, InstanceType]:
    return {f"{family}.{size}": InstanceType(f"{family}.{size}", v, int(v * gib_per_vcpu * 1024))
            for size, v in sizes.items()}


def _explicit(family: str, sizes: dict[str, tuple[int, float, int]]) -> dict[str, InstanceType]:
    return {f"{family}.{size}": InstanceType(f"{family}.{size}", v, int(gib * 1024), g)
            for size, (v, gib, g) in sizes.items()}


_GEN5 = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48,
         "16xlarge": 64, "24xlarge": 96}
_C5 = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "9xlarge": 36, "12xlarge": 48,
       "18xlarge": 72, "24xlarge": 96}
_GEN6I = {**_GEN5, "32xlarge": 128}
_C7I = {**_GEN5, "48xlarge": 192}
_GRAVITON = {"medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32,
             "12xlarge": 48, "16xlarge": 64}

INSTANCE_TYPES: dict[str, InstanceType] = {
    **_explicit("c4", {"large": (2, 3.75, 0), "xlarge": (4, 7.5, 0), "2xlarge": (8, 15, 0),
                       "4xlarge": (16, 30, 0), "8xlarge": (36, 60, 0)}),
    **_explicit("m4", {"large": (2, 8, 0), "xlarge": (4, 16, 0), "2xlarge": (8, 32, 0),
                       "4xlarge": (16, 64, 0), "10xlarge": (40, 160, 0),
                       "16xlarge": (64, 256, 0)}),
    **_explicit("r4", {"large": (2, 15.25, 0), "xlarge": (4, 30.5, 0), "2xlarge": (8, 61, 0),
                       "4xlarge": (16, 122, 0), "8xlarge": (32, 244, 0),
                       "16xlarge": (64, 488, 0)}),
    **_family("c5", 2, _C5), **_family("m5", 4, _GEN5), **_family("r5", 8, _GEN5),
    **_family("c6i", 2, _GEN6I), **_family("m6i", 4, _GEN6I), **_family("r6i", 8, _GEN6I),
    **_family("c7i", 2, _C7I),
    **_family("c6g", 2, _GRAVITON), **_family("m6g", 4, _GRAVITON), **_family("r6g", 8, _GRAVITON),
    **_family("c7g", 2, _GRAVITON),
    **_explicit("g4dn", {"xlarge": (4, 16, 1), "2xlarge": (8, 32, 1), "4xlarge": (16, 64, 1),
                         "8xlarge": (32, 128, 1), "12xlarge": (48, 192, 4),
                         "16xlarge": (64, 256, 1)}),
    **_explicit("g5", {"xlarge": (4, 16, 1), "2xlarge": (8, 32, 1), "4xlarge": (16, 64, 1),
                       "8xlarge": (32, 128, 1), "12xlarge": (48, 192, 4),
                       "16xlarge": (64, 256, 1), "24xlarge": (96, 384, 4),
                       "48xlarge": (192, 768, 8)}),
    **_explicit("p3", {"2xlarge": (8, 61, 1), "8xlarge": (32, 244, 4), "16xlarge": (64, 488, 8)}),
    **_explicit("p4d", {"24xlarge": (96, 1152, 8)}),
}

# What Batch's instance-type keywords stand for (ComputeResource.instanceTypes, Batch API
# reference). ``optimal`` moved to the default_x86_64 families in November 2025, so both
# generations count: a job fitting either is not reported.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "optimal": ("c4", "m4", "r4", "c5", "m5", "r5", "m6i", "c6i", "r6i", "c7i"),
    "default_x86_64": ("m6i", "c6i", "r6i", "c7i"),
    "default_arm64": ("m6g", "c6g", "r6g", "c7g"),
}


def expand(allowed: tuple[str, ...]) -> tuple[tuple[InstanceType, ...], tuple[str, ...]]:
    """The known instance types an environment may launch, and the names this table lacks."""
    names: list[str] = []
    for entry in allowed:
        names.extend(KEYWORDS.get(entry, (entry,)))
    known: dict[str, InstanceType] = {}
    unknown: list[str] = []
    for name in names:
        if "." in name:
            found = [INSTANCE_TYPES[name]] if name in INSTANCE_TYPES else []
        else:
            found = [t for key, t in INSTANCE_TYPES.items() if key.split(".")[0] == name]
        if not found:
            unknown.append(name)
        known.update((t.name, t) for t in found)
    return tuple(known.values()), tuple(dict.fromkeys(unknown))


# Fargate task sizes (vCPU -> allowed memory in MiB), from the Batch ResourceRequirement and
FARGATE_MEMORY = limits.FARGATE_MEMORY_MIB


def fargate_fits(vcpus: float, memory_mib: int) -> bool:
    return memory_mib in FARGATE_MEMORY.get(float(vcpus), ())


def fargate_choices(vcpus: float) -> str:
    """The memory values allowed with ``vcpus`` on Fargate, for a message."""
    allowed = FARGATE_MEMORY.get(float(vcpus))
    if allowed is None:
        return "Fargate vCPU values are " + ", ".join(f"{v:g}" for v in FARGATE_MEMORY)
    if len(allowed) <= 4:
        return f"with {vcpus:g} vCPU Fargate allows MEMORY " + ", ".join(map(str, allowed))
    step = allowed[1] - allowed[0]
    return (f"with {vcpus:g} vCPU Fargate allows MEMORY {allowed[0]}-{allowed[-1]} "
            f"in steps of {step}")
