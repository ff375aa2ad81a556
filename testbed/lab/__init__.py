"""The lab model: lab files (YAML, optionally jinja2 templates) to a validated, addressed Lab."""
from .loader import find_lab, lab_names, load_lab
from .model import Interface, Lab, Link, MplsDomain, Node, Probe

__all__ = ["find_lab", "lab_names", "load_lab", "Lab", "Node", "Interface", "Link", "MplsDomain", "Probe"]
