"""`python -m testbed.knobs [--markdown | --json | --write | --check]`: the README's knob table."""
import sys

from testbed.knobs import main

sys.exit(main())
