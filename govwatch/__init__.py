"""The application people use: the CLI, the web UI and feed, export, notifications, and the
crawl runner and schedule helpers behind ``govwatch crawl`` and ``scheduler.py``.

It calls down into everything (``crawler``, ``spiders``, ``pipelines``, ``storage``,
``samplesite`` for the demo); nothing below imports it. Scrapy reaches ``govwatch.notify`` only
through the ``EXTENSIONS`` setting, by name.
"""
