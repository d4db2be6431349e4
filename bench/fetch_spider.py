"""The baseline of crawl_bench: Scrapy's own fetch-only crawl of the same pages, no govwatch
code at all. It follows the list's pages (下一页) and fetches every document linked from
them, doing nothing with the bodies. With ``-a validators=FILE`` (JSON: url -> etag and
last_modified, from a first crawl) it sends them with each document's request, as a
re-check does: the site answers 304.

    scrapy runspider bench/fetch_spider.py -a start=http://127.0.0.1:PORT/gen/list.html \
        [-a validators=validators.json]
"""

from __future__ import annotations

import scrapy


class FetchOnly(scrapy.Spider):
    name = "fetch_only"

    def __init__(self, start: str, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.start_urls = [start]

    def parse(self, response: scrapy.http.Response):
        for href in response.css("ul.news-list a::attr(href)").getall():
            yield response.follow(href, callback=self.fetched)
        for href in response.xpath('//div[@class="pager"]/a[text()="下一页"]/@href').getall():
            yield response.follow(href, callback=self.parse)

    def fetched(self, response: scrapy.http.Response) -> None:
        return None
