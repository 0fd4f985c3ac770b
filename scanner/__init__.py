"""posture: check a published security page against the real cloud estate, claim by claim."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("posture")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
