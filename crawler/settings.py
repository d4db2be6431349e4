"""Scrapy settings for govwatch: every setting and its default lives here.

Settings of our own (prefix = component):
    SOURCES_FILE           sources.yaml to load (env GOVWATCH_SOURCES)
    VERSIONS_DB_PATH       SQLite database (env GOVWATCH_DB)
    VERSIONS_RUN_ID        an existing run row to fill (set by `govwatch crawl`), else a new one
    VERSIONS_RUN_TRIGGER   manual | scheduled, for a new run row
    VERSIONS_PROGRESS_INTERVAL  seconds between progress updates of the run row
    VERSIONS_BUSY_TIMEOUT  seconds a write waits for another process's write lock
    EXTRACT_WORKERS        extraction processes beside the crawl (0 = extract in the crawl process)
    EXTRACT_POOL_AFTER     documents extracted in the crawl process before those processes start
    EXTRACT_MIN_CHARS      an extraction shorter than this is "empty", an error, not a version
    ATTACHMENTS_MAX_BYTES  largest attachment (PDF, Word, OFD ...) fetched; a larger one is an error
    LIST_MAX_PAGES         pagination limit per source unless the source sets max_pages
    RENDER_CHROMIUM        Chromium for render: sources (env GOVWATCH_CHROMIUM)
    KNOWN_DOCUMENTS_ENABLED           conditional requests (ETag, Last-Modified) for known documents
    KNOWN_DOCUMENTS_RECHECK_UNLISTED  re-check known documents the list no longer links to
    VERSIONS_SHRINK_GUARD  a text shorter by more than this share is held as a suspect
    VERSIONS_MISSES_TO_REMOVE  consecutive 404/410 answers before a document is "removed"
    VERSIONS_KEEP_ERRORS_DAYS  error rows older than this are pruned when a run starts
    VERSIONS_BATCH         most documents written in one transaction (by the store's thread)
    VERSIONS_BATCH_WAIT    seconds a transaction waits for more documents after its first
    NOTIFY_ENABLED         send run digests to the notify: rules of sources.yaml
    NOTIFY_BASE_URL        where `govwatch serve` is reachable, for links in digests
                           (env GOVWATCH_BASE_URL)
    NOTIFY_RETRIES         attempts per digest in a run (a failed one is retried next run)
    NOTIFY_RETRY_PAUSE     seconds before the second attempt (doubling after)
"""

import os
import shutil

from scrapy.settings import default_settings as _scrapy_defaults

BOT_NAME = "govwatch"
SPIDER_MODULES: list[str] = []
SPIDER_LOADER_CLASS = "spiders.loader.SourceSpiderLoader"

SOURCES_FILE = os.environ.get("GOVWATCH_SOURCES", "sources.yaml")
VERSIONS_DB_PATH = os.environ.get("GOVWATCH_DB", "data/govwatch.db")
VERSIONS_RUN_ID = None
VERSIONS_RUN_TRIGGER = "manual"
VERSIONS_PROGRESS_INTERVAL = 2.0
VERSIONS_BUSY_TIMEOUT = 60.0
VERSIONS_SHRINK_GUARD = 0.7
VERSIONS_MISSES_TO_REMOVE = 2
VERSIONS_KEEP_ERRORS_DAYS = 90
VERSIONS_BATCH = 50
VERSIONS_BATCH_WAIT = 0.25
NOTIFY_ENABLED = True
NOTIFY_BASE_URL = os.environ.get("GOVWATCH_BASE_URL", "http://127.0.0.1:8700")
NOTIFY_RETRIES = 3
NOTIFY_RETRY_PAUSE = 1.0
EXTRACT_WORKERS = 1
EXTRACT_POOL_AFTER = 8
EXTRACT_MIN_CHARS = 20
LIST_MAX_PAGES = 50
ATTACHMENTS_MAX_BYTES = 50 * 1024 * 1024
# render: sources load pages in this Chromium (Playwright's own browser download is not used)
RENDER_CHROMIUM = os.environ.get("GOVWATCH_CHROMIUM") or shutil.which("chromium") or "chromium"
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000

# Politeness: identify ourselves, obey robots.txt, adapt to the server's pace.
USER_AGENT = "govwatch/0.1 (+https://github.com/govwatch/govwatch; change monitor for public pages)"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
DOWNLOAD_TIMEOUT = 30
# Scrapy processes each response's output with this many asyncio tasks, made anew for every
# response: 100 (its default) cost 3 ms a page here, and a page gives one document or a
# list's few dozen links; 16 keeps the items' writes batched (pipelines.storewriter)
CONCURRENT_ITEMS = 16
# Responses whose items are still in the pipelines hold at most this many bytes of bodies
# before Scrapy stops handing it new ones (its default, 5 MB, is a hundred portal pages, each
# held with its decoded text while it waits for the extraction process, which is the slower
# side of a cold crawl): 3,000 portal-shaped documents peaked at 136 MB instead of 152, as fast
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 2_000_000
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # Scrapy 2.19's code-running HTTP endpoint: never by default

DOWNLOADER_MIDDLEWARES = {
    "crawler.politeness.OffsiteGuardMiddleware": 40,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.politeness.RobotsTxtMiddleware": 100,
    "crawler.politeness.HostLimitsMiddleware": 1000,
    # process_response runs from high to low: see a loop before RedirectMiddleware (600) follows it
    "crawler.middlewares.RedirectLoopMiddleware": 650,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.HeadMetaRefreshMiddleware": 580,  # (Scrapy's own place)
    "crawler.middlewares.KnownDocumentsMiddleware": 560,
}
KNOWN_DOCUMENTS_ENABLED = True
KNOWN_DOCUMENTS_RECHECK_UNLISTED = True
# Scrapy checks a generator callback for `return value` on every response; its cache of the
# answer lives only as long as some request holds the same bound method, and each miss reads
# the callback's source with inspect and ast (3.7 ms): 0.15 ms a page on average in a crawl.
# tests/test_crawl.py makes the same check of the spider's callbacks, once.
WARN_ON_GENERATOR_RETURN_VALUE = False

# Never loaded: Scrapy's remote control (a code-running HTTP endpoint) and telnet console.
# Named in EXTENSIONS, even as None, Scrapy imports them (to match the name with its base
# entry): aiohttp and twisted.conch, 0.14 s of CPU at the start of every crawl process. Left
# out of the base instead, they are never imported.
_never_loaded = (
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.telnet.TelnetConsole",
)
EXTENSIONS_BASE = {
    k: v for k, v in _scrapy_defaults.EXTENSIONS_BASE.items() if k not in _never_loaded
}
# Run digests go out when the spider closes, after the version pipeline has closed the run.
EXTENSIONS = {
    "govwatch.notify.NotifyExtension": 500,
    "crawler.collector.CollectorTuning": 0,  # the garbage collector tuned for a crawl
}

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 300,
    "pipelines.version.VersionPipeline": 800,
}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
