"""`testbed export LAB --to containerlab DIR --engine`: routers run this project's engine, one
process per container (testbed.runtimes.container), instead of FRR on the kernel's data plane,
so every tunnel class survives the export (explicit, implicit and opaque too).

Each router node becomes `kind: linux`, image utnt-lab-engine (docker/engine/Dockerfile), with
the rendered lab file bound at /lab/lab.yaml and `cmd` starting the engine for that router;
its interfaces carry no kernel addresses and the kernel forwards nothing. Hosts and LANs stay
as the plain export makes them.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from testbed.errors import TestbedError

ENGINE_IMAGE = "utnt-lab-engine:latest"
DOCKERFILE = Path(__file__).resolve().parents[2] / "docker" / "engine" / "Dockerfile"

README = """
## Engine routers (`--engine`)

Routers here run uTNT-lab's engine (`python -m testbed.runtimes.container --lab /lab/lab.yaml
--router NAME`), one process per container on eth1.. (the model's eth0..; eth0 is
containerlab's management interface), so Cisco-, Juniper- and Linux-like behaviours and all
tunnel classes are kept. Build the image from the repository root first:

    docker build -f docker/engine/Dockerfile -t utnt-lab-engine:latest .

What was run and what was not (the project's machines have no Docker):
- run: the per-router engine process in hand-made network namespaces with container-style
  interface names (tests/test_container_engine.py: traceroute and scamper through it, Cisco
  reply TTL 255); this file validated against containerlab's schema;
- not run: `docker build` of the image, `containerlab deploy` of this file, clabernetes.
"""


def apply_engine(lab, out_dir: Path, files: list[Path], mgmt: bool = True) -> list[Path]:
    from testbed.export.containerlab import validate_clab
    from testbed.lab.loader import find_lab, render
    clab = files[0]
    doc = yaml.safe_load(clab.read_text())
    lab_file = out_dir / "lab.yaml"
    lab_file.write_text(render(find_lab(lab.source), lab.params)[0])      # (text, line map)
    for name, node in doc["topology"]["nodes"].items():
        if node.get("group") != "router":
            continue
        node["image"] = ENGINE_IMAGE
        node["binds"] = [f"{lab_file.name}:/lab/lab.yaml:ro"]
        node["sysctls"] = {k: v for k, v in (node.get("sysctls") or {}).items() if "mpls" not in k}
        node["sysctls"]["net.ipv4.ip_forward"] = "0"
        node["exec"] = ["ip route del default"] if mgmt else []
        if not node["exec"]:
            del node["exec"]
        node["cmd"] = f"python -m testbed.runtimes.container --lab /lab/lab.yaml --router {name}"
    problems = validate_clab(doc)
    if problems:
        raise TestbedError(f"the engine variant of {clab} is invalid (a bug): {'; '.join(problems[:3])}")
    from testbed.export.containerlab import dump_yaml
    clab.write_text(dump_yaml(doc))
    docker = out_dir / "Dockerfile"
    docker.write_text(DOCKERFILE.read_text())
    readme = out_dir / "README.md"
    if readme.exists():
        readme.write_text(readme.read_text() + README)
    return files + [lab_file, docker]
