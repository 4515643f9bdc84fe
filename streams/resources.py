"""The files civicflow ships besides its code: Avro schemas, the NYC jurisdiction, the API keys example, the replay
formats (mappings) and a demo data file, each with its SOURCES notes.

In a built wheel they are package data under this package's `packaged/` folder (setup.py copies them there from
the repository folders of LAYOUT), read through importlib.resources; nothing is looked up relative to a checkout.
In a checkout (an editable install, where nothing is copied) they are the repository folders themselves, so an
edit to deploy/ or schemas/ takes effect without a rebuild.
"""

from importlib import resources
from pathlib import Path

# name inside the package -> folder of the repository it is copied from when a wheel is built
LAYOUT = {
    "schemas": "schemas",
    "jurisdictions/nyc": "deploy/jurisdictions/nyc",
    "api": "deploy/api",
    "replay": "deploy/replay",
    "demo": "deploy/demo",
}
PACKAGED = "packaged"
_CHECKOUT = Path(__file__).resolve().parent.parent  # only used when the files are not packaged (editable install)


def packaged_root() -> Path | None:
    """The package-data folder of an installed wheel, or None in a checkout."""
    root = resources.files(__name__.rpartition(".")[0]) / PACKAGED
    return Path(str(root)) if root.is_dir() else None


def path(name: str) -> Path:
    """A shipped file or folder, e.g. path("schemas"), path("jurisdictions"), path("api/keys.yaml")."""
    root = packaged_root()
    if root is not None:
        return root / name
    top, _, rest = name.partition("/")
    for packaged, folder in LAYOUT.items():
        if name == packaged or name.startswith(packaged + "/"):
            return _CHECKOUT / folder / name.removeprefix(packaged).lstrip("/")
    if top == "jurisdictions":  # the folder holding every jurisdiction
        return _CHECKOUT / "deploy" / "jurisdictions" / rest
    raise KeyError(f"{name!r} is not among the files civicflow ships ({', '.join(LAYOUT)})")


def default_data_dir() -> Path:
    """Where scratch data goes by default: .civicflow in the checkout; .civicflow in the working directory for
    an installed package (CIVICFLOW_DATA_DIR overrides both)."""
    return (Path.cwd() if packaged_root() is not None else _CHECKOUT) / ".civicflow"
