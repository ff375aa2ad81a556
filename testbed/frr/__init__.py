"""FRR for the labs: configuration files rendered from the lab model, checked by FRR's own parser.

    render_router(lab, node_name) -> {file name: text}   (zebra.conf, ospfd.conf, [ldpd.conf], daemons, vtysh.conf)
    render_lab(lab, out_dir) -> [paths]                   (out_dir/<router>/<file>)
    check_config(path_or_text, daemon) -> [rejected lines] ([] = accepted)
"""
from .check import CheckResult, FrrCheckError, Rejection, check_config, check_config_detailed, check_many, \
    check_rendered, frr_available
from .render import CHECKER, TEMPLATES, render_lab, render_router, router_files

__all__ = ["render_router", "render_lab", "router_files", "TEMPLATES", "CHECKER", "check_config",
           "check_config_detailed", "check_many", "check_rendered", "frr_available", "FrrCheckError",
           "CheckResult", "Rejection"]
