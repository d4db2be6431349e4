"""govwatch: a crawler and change monitor for Chinese government and investment-news pages."""

__version__ = "0.1.0"
