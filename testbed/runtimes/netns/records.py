"""The run folder's records as pydantic models (the lab files' strict types): state.json and
worker-I.json (their fields: state.py). Read back before `status`, `down`, `probe` or `up`
act on them, so a truncated or hand-edited record is one line naming the file, the field (or
the JSON line) and the fix, never a traceback or a PID taken from garbage.

The records are written by this code and read by other versions of it (a lab brought up
before an upgrade): fields the models do not name are kept (extra="allow"); the fields the
runtime acts on (processes to stop, namespaces, attachment points) are typed strictly.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from testbed.errors import Problem
from testbed.lab.schema import problems_of
from testbed.strict import Float, Int

PID_MAX = 4_194_304                      # the kernel's pid_max limit
NS = r"^tb-[a-z][a-z0-9_-]{0,23}\.(_sw|[a-z][a-z0-9_-]{0,23})$"


class Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class Proc(Record):
    pid: Int = Field(gt=0, le=PID_MAX)
    start_time: Int | None = None


class Worker(Proc):
    index: Int = Field(ge=0)
    routers: list[str] | Int = []         # state.json: the router names; worker-I.json: how many
    log: str | None = None
    generation: Int = Field(0, ge=0)


class Daemon(Record):
    router: str
    daemon: str
    pid: Int | None = Field(None, gt=0, le=PID_MAX)
    start_time: Int | None = None
    launcher: Int | None = Field(None, gt=0, le=PID_MAX)
    launcher_start: Int | None = None
    children: list[Proc] = []


class Frr(Record):
    dir: str | None = None
    daemons: list[Daemon] = []
    sync: Proc | None = None
    converged_seconds: Float | None = None
    differences: list[str] | None = None


class Attach(Record):
    lan: str
    namespace: str = Field(pattern=NS)
    tap: str
    address: str
    prefixlen: Int = Field(ge=0, le=32)
    gateway: str
    hosts: list[str] = []


class State(Record):
    schema_: Literal[1] = Field(alias="schema")
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,23}$")
    lab: str | None = None
    source: str | None = None
    params: dict = {}
    status: Literal["building", "up", "failed"]
    owner: Proc | None = None
    created: Float | Int | None = None
    prefix: str | None = None
    namespaces: list[Annotated[str, Field(pattern=NS)]] = []
    routers: dict[str, str] = {}
    hosts: dict[str, str] = {}
    switch: str | None = None
    attach: list[Attach] = []
    workers: list[Worker] = []
    control_plane: Literal["computed", "frr"] = "computed"
    frr: Frr | None = None
    timings: dict[str, Float | Int] = {}
    check: dict | None = None


RANGES = {"pid": "a process id, an integer in 1..4194304", "launcher": "a process id, an integer in 1..4194304",
          "schema": "1 (written by this version)",
          "status": "building, up or failed", "namespace": "a namespace of the lab, tb-<name>.<node>"}


def check(model: type[Record], path: Path, text: str, expect_name: str | None = None) -> tuple[dict | None, Problem | None]:
    """(the record, None) or (None, the first problem: file, JSON line or field, and what is wrong)."""
    from testbed.inputs import InputProblem, loads_json
    try:
        doc = loads_json(text, str(path), "state record", "the record is truncated or garbled")
    except InputProblem as e:
        return None, e.problems[0]
    try:
        model.model_validate(doc)
    except ValidationError as e:
        return None, problems_of(str(path), e, None, RANGES)[0]
    if expect_name is not None and doc.get("name") != expect_name:
        return None, Problem(str(path), "name", f"not this lab's name ({expect_name!r}): the "
                             "record is not this lab's")
    return doc, None
