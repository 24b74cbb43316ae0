"""The web page's own actions in a real headless Chromium (no Go needed): an unreadable
entry shows as a row and is deleted from it; dead jobs are filtered by job name and error
text and requeued or deleted in bulk, each bulk action asking for confirmation first."""

from __future__ import annotations

import json
from typing import Any

import redis

from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.webui import create_app
from tests.conftest import until
from tests.interop.test_webui_browser import Browser, browser  # noqa: F401  (the fixture)
from tests.interop.test_webui_interop import serving

UNKNOWN = "unknown job when requeueing"


def answer_confirms(b: Browser, accept: bool) -> None:
    """Make the page's confirm() answer ``accept`` and record what it asked."""
    b.evaluate("window.__asked = []; window.confirm = (m) => { window.__asked.push(m); return "
               + json.dumps(accept) + "; }; true")


def asked(b: Browser) -> list[str]:
    found: list[str] = b.evaluate("window.__asked")
    return found


def set_filter(b: Browser, name: str, error: str) -> None:
    b.evaluate(f"document.getElementById('filter-name').value = {json.dumps(name)};"
               f"document.getElementById('filter-error').value = {json.dumps(error)}; true")
    b.click("#filter-apply")


def test_unreadable_rows_and_dead_jobs_by_filter(browser: Browser, redis_url: str, ns: str,  # noqa: F811
                                                 r: redis.Redis) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "py_only", "other")

    def dead(name: str, jid: str, err: str, t: int) -> None:
        j = Job(name=name, id=jid, enqueued_at=t - 5, args={"n": t}, fails=1, last_err=err, failed_at=t)
        r.zadd(k.dead, {j.encode(): t})

    for i in range(3):
        dead("py_only", f"py{i}", UNKNOWN, 1_700_000_000 + i)
    dead("py_only", "boom", "boom", 1_700_000_010)
    dead("other", "oth", UNKNOWN, 1_700_000_011)
    r.zadd(k.dead, {b'{"name": "py_only", "id": ': 1_700_000_005})

    with serving(create_app(redis_url, ns)) as base:
        browser.navigate(base + "/#dead")
        row = 'tr[data-unreadable="dead"]'
        browser.wait_for(f"!!document.querySelector({json.dumps(row)})")
        assert browser.evaluate("document.getElementById('tab-dead-count').textContent") == "6"
        shown = browser.evaluate(f"document.querySelector({json.dumps(row)}).textContent")
        assert '{"name": "py_only", "id": ' in shown
        assert browser.evaluate("document.querySelectorAll('tr[data-job-id]').length") == 5  # neighbours shown

        answer_confirms(browser, True)
        browser.click(f'{row} button[data-action="delete-unreadable"]')
        browser.wait_for(f"!document.querySelector({json.dumps(row)})")
        assert r.zcard(k.dead) == 5

        # filter: Python-only jobs a Go pool killed with "unknown job when requeueing"
        set_filter(browser, "py_only", "unknown job")
        browser.wait_for("document.getElementById('page-info').textContent.includes('3 matching jobs')")
        assert browser.evaluate("document.querySelectorAll('tr[data-job-id]').length") == 3
        assert browser.evaluate("document.getElementById('tab-dead-count').textContent") == "5"  # the whole set
        assert browser.evaluate("document.getElementById('retry-matching').hidden") is False

        answer_confirms(browser, False)  # asked, and declined: nothing happens
        browser.click("#retry-matching")
        assert asked(browser) == ["Queue again the 3 dead jobs matching job name \u201cpy_only\u201d and "
                                  "error containing \u201cunknown job\u201d?"]
        assert r.zcard(k.dead) == 5 and r.llen(k.jobs("py_only")) == 0

        answer_confirms(browser, True)
        browser.click("#retry-matching")
        until(lambda: r.llen(k.jobs("py_only")) == 3, what="the matching jobs to be queued")
        browser.wait_for("document.getElementById('toast').textContent === 'requeued 3 of 3'")
        browser.wait_for("document.getElementById('tab-dead-count').textContent === '2'")
        assert sorted(Job.decode(m).id for m in r.lrange(k.jobs("py_only"), 0, -1)) == ["py0", "py1", "py2"]

        set_filter(browser, "", UNKNOWN)
        browser.wait_for("document.getElementById('page-info').textContent.includes('1 matching jobs')")
        answer_confirms(browser, True)
        browser.click("#delete-matching")
        browser.wait_for("document.getElementById('tab-dead-count').textContent === '1'")
        assert asked(browser)[0].startswith("Delete the 1 dead job matching error containing")
        assert [Job.decode(m).id for m in r.zrange(k.dead, 0, -1)] == ["boom"]

        browser.click("#filter-clear")
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"boom\"]')")
        assert browser.evaluate("document.getElementById('retry-matching').hidden") is True
        errors: list[Any] = browser.page_errors()
        assert not errors, errors
