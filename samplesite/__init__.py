"""The embedded sample site: five seed sites in their styles, served on 127.0.0.1."""

from .server import SampleSite

__all__ = ["SampleSite"]
