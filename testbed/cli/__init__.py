"""`testbed`: the command line of uTNT-lab. main.py builds the parser from one module per command
(list.py, run.py, up.py, ...), each with add_parser(sub) and run(args); guard.py turns every
way a command ends into an exit status and one line."""
from testbed.cli.main import main

__all__ = ["main"]
