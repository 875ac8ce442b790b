"""A strict in-process Grafana for tests and benchmarks, built from Grafana's source (each
module names the files of grafana/grafana it follows).

    with GrafanaEmulator(tokens=[Token("glsa_admin")]) as grafana:
        ...  # talk HTTP to grafana.url; inspect grafana.requests / grafana.writes

Profiles: "v11.3+" (default), "v10", "v12.3" and "v13" (the app platform; see profile.py for what differs).
"""

from .profile import PROFILES, Profile
from .server import GrafanaEmulator, LoggedRequest, Token, User

__all__ = ["PROFILES", "GrafanaEmulator", "LoggedRequest", "Profile", "Token", "User"]
