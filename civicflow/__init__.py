"""civicflow: service requests from intake to the agency.

The distribution's one top-level package; the repository's folders are installed as its sub-packages
(civicflow.streams from streams/, civicflow.services from services/: see setup.py).
"""

from pathlib import Path as _Path

_beside = _Path(__file__).resolve().parent.parent
if (_beside / "streams" / "resources.py").is_file() and not (_Path(__file__).parent / "streams").exists():
    __path__.append(str(_beside))  # a checkout: civicflow.streams is ../streams (never so in a wheel)
