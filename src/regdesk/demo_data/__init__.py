"""What the demo organisation is made of: desks, people and the stories of their tickets.

Pure data and small builders; ``regdesk.demo`` turns them into rows through the services. Every
instant is placed relative to the moment the demo is loaded, in the desk's own time zone, so
that some clocks are already breached, some are due soon and some were met whatever the day.
"""

from __future__ import annotations

from regdesk.demo_data.local_support import BERLIN, MADRID
from regdesk.demo_data.m2m import M2M
from regdesk.demo_data.shapes import AgentSpec, DeskSpec
from regdesk.demo_data.waviot import WAVIOT
from regdesk.demo_data.wialon import WIALON
from regdesk.demo_data.wildix import WILDIX

__all__ = ["DEMO_DESKS", "DESKS", "SHARED_AGENT", "DeskSpec"]

DESKS = {spec.slug: spec for spec in (BERLIN, MADRID, WAVIOT, M2M, WIALON, WILDIX)}

# The chosen preset's desk first, then two more that make a believable organisation.
DEMO_DESKS: dict[str, tuple[str, str, str]] = {
    "service-desk": ("local-berlin", "local-madrid", "waviot"),
    "waviot": ("waviot", "m2m", "local-berlin"),
    "wialon": ("wialon", "m2m", "local-berlin"),
    "m2m": ("m2m", "wialon", "waviot"),
    "wildix": ("wildix", "local-berlin", "local-madrid"),
}

# One agent works on the first two desks of every demo.
SHARED_AGENT = AgentSpec("alex.kim", "Alex", "Kim", "en")
