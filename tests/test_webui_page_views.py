"""The page's views and actions beyond upstream in headless Chromium (no Go needed): the
namespace and Redis it shows, views in the URL (back and forward), deleting a queued job,
running a retry job and a scheduled job now, confirmation of a single delete, a 420 px
wide window. Screenshots go to $GOWORK_SCREENSHOT_DIR (docs/ refreshes the README's)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
import redis

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from gowork_compat.webui import create_app
from tests.conftest import until
from tests.interop.test_webui_browser import Browser, browser  # noqa: F401  (the fixture)
from tests.interop.test_webui_interop import serving
from tests.test_webui_page import answer_confirms, asked

SHOTS = Path(os.environ.get("GOWORK_SCREENSHOT_DIR") or tempfile.gettempdir())
NOW = 1_900_000_000


def seed(r: redis.Redis, k: Keys) -> None:
    r.sadd(k.known_jobs, "mail", "sms", "a_job_name_that_is_rather_long")
    for i in range(3):
        r.lpush(k.jobs("mail"), Job(name="mail", id=f"q{i}", enqueued_at=NOW - 60 + i, args={"to": f"u{i}"}).encode())
    r.lpush(k.jobs("a_job_name_that_is_rather_long"), Job(name="a_job_name_that_is_rather_long", id="l1",
                                                          enqueued_at=NOW, args={}).encode())
    r.zadd(k.retry, {Job(name="sms", id="r1", enqueued_at=NOW - 9, args={"n": 1}, fails=1, last_err="timeout",
                         failed_at=NOW - 5).encode(): NOW + 60})
    r.zadd(k.scheduled, {Job(name="mail", id="s1", enqueued_at=NOW, args={"week": 27}).encode(): NOW + 3600})


def text(b: Browser, js_id: str) -> str:
    value: str = b.evaluate(f"document.getElementById({json.dumps(js_id)}).textContent")
    return value


def test_where_routes_and_single_job_actions(browser: Browser, redis_url: str, ns: str,  # noqa: F811
                                             r: redis.Redis, request: pytest.FixtureRequest) -> None:
    k = Keys(ns)
    seed(r, k)
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    # a user with a password (an ACL user of this server: AUTH with a password the server does
    # not ask for is refused by some redis-py versions and let through by others)
    user = f"page-{ns[-8:]}"
    r.execute_command("ACL", "SETUSER", user, "on", ">hunter2", "~*", "&*", "+@all")
    request.addfinalizer(lambda: r.execute_command("ACL", "DELUSER", user))
    with serving(create_app(f"redis://{user}:hunter2@127.0.0.1:{port}/0", ns)) as base:
        browser.navigate(base + "/")
        browser.wait_for(f"document.getElementById('where-ns').textContent === {json.dumps(ns)}")
        assert text(browser, "where-redis") == f"redis://{user}:***@127.0.0.1:{port}/0"
        assert "hunter2" not in browser.evaluate("document.body.innerText")

        # views live in the URL; back and forward work
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"r1\"]')")
        browser.click('.tabs [data-tab="scheduled"]')
        browser.wait_for("location.hash === '#scheduled' && !!document.querySelector('tr[data-job-id=\"s1\"]')")
        browser.click('#queues tr[data-queue="mail"] button[data-action="view"]')
        browser.wait_for("location.hash === '#queued/mail' && !!document.querySelector('tr[data-job-id=\"q0\"]')")
        browser.evaluate("history.back(); true")
        browser.wait_for("location.hash === '#scheduled' && !!document.querySelector('tr[data-job-id=\"s1\"]')"
                         " && document.querySelector('[data-tab=\"scheduled\"]').getAttribute('aria-selected')"
                         " === 'true'")
        browser.evaluate("history.forward(); true")
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"q0\"]')")
        browser.navigate(base + "/#queued/mail")  # a link to the view opens it
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"q1\"]')")

        # a single delete asks first; declined, nothing happens
        answer_confirms(browser, False)
        browser.click('tr[data-job-id="q1"] button[data-action="delete"]')
        assert asked(browser) == ["Delete queued job mail q1 for good?"]
        assert r.llen(k.jobs("mail")) == 3
        answer_confirms(browser, True)
        browser.click('tr[data-job-id="q1"] button[data-action="delete"]')
        browser.wait_for("!document.querySelector('tr[data-job-id=\"q1\"]')")
        assert sorted(Job.decode(m).id for m in r.lrange(k.jobs("mail"), 0, -1)) == ["q0", "q2"]

        # a retry job runs now, a scheduled job is enqueued now
        browser.navigate(base + "/#retry")
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"r1\"]')")
        browser.click('tr[data-job-id="r1"] button[data-action="run-now"]')
        until(lambda: r.llen(k.jobs("sms")) == 1, what="the retry job on its queue")
        assert r.zcard(k.retry) == 0
        browser.click('.tabs [data-tab="scheduled"]')
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"s1\"]')")
        browser.click('tr[data-job-id="s1"] button[data-action="enqueue-now"]')
        until(lambda: r.llen(k.jobs("mail")) == 3, what="the scheduled job on its queue")
        browser.wait_for("document.getElementById('tab-scheduled-count').textContent === '0'")
        assert not browser.page_errors()


@pytest.mark.parametrize("width", [420, 1280])
def test_nothing_is_cut_off_at_420_px(browser: Browser, redis_url: str, ns: str,  # noqa: F811
                                      r: redis.Redis, width: int) -> None:
    seed(r, Keys(ns))
    r.zadd(Keys(ns).dead, {Job(name="sms", id="d1", enqueued_at=NOW, args={"n": 1}, fails=1, last_err="x",
                               failed_at=NOW).encode(): NOW})
    browser.open_page(width=width, height=900)
    with serving(create_app(redis_url, ns)) as base:
        browser.navigate(base + "/#retry")
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"r1\"]')"
                         " && document.querySelectorAll('#queues tr[data-queue]').length === 3")
        for tab in ("retry", "dead"):
            browser.click(f'.tabs [data-tab="{tab}"]')
            jid = {"retry": "r1", "dead": "d1"}[tab]
            browser.wait_for(f"location.hash === '#{tab}' && !!document.querySelector('tr[data-job-id=\"{jid}\"]')")
            overflow = browser.evaluate(
                "[...document.querySelectorAll('.panel, body, .top')].filter("
                "(p) => p.scrollWidth > p.clientWidth + 1)."
                "map((p) => (p.querySelector('table') || p).id + ' ' + p.scrollWidth)")
            assert overflow == []
            assert browser.evaluate("document.querySelector('.where').getBoundingClientRect().width") > 200
        if width == 420:
            (SHOTS / "webui-narrow.png").write_bytes(browser.screenshot())


def answer_prompts(b: Browser, answer: str | None) -> None:
    b.evaluate("window.__prompted = []; window.prompt = (m) => { window.__prompted.push(m); return "
               + json.dumps(answer) + "; }; true")


def test_purge_a_queue_and_reset_a_lock(browser: Browser, redis_url: str, ns: str,  # noqa: F811
                                        r: redis.Redis) -> None:
    k = Keys(ns)
    seed(r, k)
    r.set(k.lock("sms"), 4)
    r.hset(k.lock_info("sms"), "crashed-pool", 4)
    with serving(create_app(redis_url, ns)) as base:
        browser.navigate(base + "/")
        mail = '#queues tr[data-queue="mail"]'
        browser.wait_for(f"!!document.querySelector('{mail}')")
        answer_prompts(browser, "mai")  # a wrong name: refused in the page
        browser.click(f'{mail} button[data-action="purge"]')
        browser.wait_for("document.getElementById('toast').textContent.includes('typed name differs')")
        assert browser.evaluate("window.__prompted")[0].startswith("Purge all 3 waiting mail jobs")
        assert r.llen(k.jobs("mail")) == 3
        answer_prompts(browser, "mail")
        browser.click(f'{mail} button[data-action="purge"]')
        browser.wait_for("document.getElementById('toast').textContent === 'purged 3 mail jobs'")
        assert r.llen(k.jobs("mail")) == 0

        sms = '#queues tr[data-queue="sms"]'
        browser.wait_for(f"document.querySelector('{sms} td:nth-child(4)').textContent.startsWith('4 /')")
        answer_confirms(browser, True)
        browser.click(f'{sms} button[data-action="reset-lock"]')
        browser.wait_for(f"document.querySelector('{sms} td:nth-child(4)').textContent.startsWith('0 /')")
        assert r.get(k.lock("sms")) == b"0" and not r.exists(k.lock_info("sms"))
        assert not browser.page_errors()


def test_job_detail_and_search(browser: Browser, redis_url: str, ns: str,  # noqa: F811
                               r: redis.Redis) -> None:
    k = Keys(ns)
    seed(r, k)
    r.zadd(k.retry, {Job(name="sms", id=f"x{i}", enqueued_at=NOW, args={"phone": f"+41 79 {i:03}"}, fails=1,
                         last_err="busy", failed_at=NOW).encode(): NOW + 100 + i for i in range(30)})
    r.sadd(k.worker_pools, "pool-a")
    r.hset(k.heartbeat("pool-a"), mapping={"heartbeat_at": NOW, "worker_ids": "wk1"})
    r.hset(k.worker_observation("wk1"), mapping={"job_name": "mail", "job_id": "q0", "started_at": NOW,
                                                 "args": "{}", "checkin": "step 2"})
    with serving(create_app(redis_url, ns)) as base:
        browser.navigate(base + "/#retry")
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"r1\"]')")
        browser.click('tr[data-job-id="r1"] a[data-action="detail"]')
        browser.wait_for(f"location.hash === '#job/retry/r1/{NOW + 60}'"
                         " && !!document.getElementById('detail-args')")
        assert text(browser, "detail-args") == '{\n  "n": 1\n}'
        assert '"err":"timeout"' in text(browser, "detail-raw")
        body = text(browser, "detail-body")
        assert "timeout" in body and "no worker runs it now" in body
        assert browser.evaluate("document.getElementById('jobs').hidden") is True
        (SHOTS / "webui-job.png").write_bytes(browser.screenshot())
        browser.click("#detail-back")
        browser.wait_for("location.hash === '#retry' && !document.getElementById('jobs').hidden")

        # a running queued job names its pool and worker
        browser.navigate(base + "/#job/queue/q0/mail")
        browser.wait_for("!!document.querySelector('[data-running=\"wk1\"]')")
        running = browser.evaluate("document.querySelector('[data-running=\"wk1\"]').textContent")
        assert "pool-a" in running and "step 2" in running

        # search the retry set by args text, paged by the bounded scan
        browser.navigate(base + "/#retry")
        browser.wait_for("!!document.querySelector('tr[data-job-id=\"r1\"]')")
        browser.evaluate("document.getElementById('search-by').value = 'args';"
                         "document.getElementById('search-q').value = '+41 79 01'; true")
        browser.click("#search-go")
        browser.wait_for("document.querySelectorAll('#job-list tr[data-job-id]').length === 10")
        assert "search complete" in text(browser, "page-info")
        assert browser.evaluate("[...document.querySelectorAll('#job-list tr[data-job-id]')]"
                                ".map((t) => t.dataset.jobId).join()") == ",".join(f"x{i}" for i in range(10, 20))
        browser.evaluate("document.getElementById('search-by').value = 'id';"
                         "document.getElementById('search-q').value = 'x3'; true")
        browser.click("#search-go")
        browser.wait_for("document.querySelectorAll('#job-list tr[data-job-id]').length === 1"
                         " && !!document.querySelector('tr[data-job-id=\"x3\"]')")
        browser.click("#search-clear")
        browser.wait_for("document.querySelectorAll('#job-list tr[data-job-id]').length === 20")
        assert not browser.page_errors()


def test_live_view_and_throughput_chart(browser: Browser, redis_url: str, ns: str,  # noqa: F811
                                        r: redis.Redis) -> None:
    k = Keys(ns)
    enq = Enqueuer(redis_url, ns)
    enq.enqueue_many([("resize", {"i": i}) for i in range(12)])
    with serving(create_app(redis_url, ns)) as base:
        browser.navigate(base + "/")
        browser.wait_for("document.getElementById('total-queued').textContent === '12'")
        browser.evaluate("window.__same_page = true; true")  # a full reload would drop it

        def boom(job: Job) -> None:
            if job.args and int(job.args["i"]) % 4 == 0:
                raise RuntimeError("boom")

        pool = WorkerPool(redis_url, ns, concurrency=2)
        pool.job("resize", boom, max_fails=1)
        pool.start()
        try:
            until(lambda: r.zcard(k.dead) == 3, what="the failures")
            browser.wait_for("document.getElementById('total-queued').textContent === '0'"
                             " && document.getElementById('total-dead').textContent === '3'")
            # the chart's newest minutes hold what the pool acknowledged (12 processed, 3 failed)
            browser.wait_for("[...document.querySelectorAll('#chart rect.processed')]"
                             ".reduce((s, e) => s + Number(e.dataset.processed), 0) === 12"
                             " && [...document.querySelectorAll('#chart rect.failed')]"
                             ".reduce((s, e) => s + Number(e.dataset.failed), 0) === 3")
            assert browser.evaluate("document.querySelectorAll('#chart rect.processed').length") == 30
            assert browser.evaluate("window.__same_page") is True
            browser.wait_for("document.getElementById('inferred-text').textContent.includes('/min')", timeout=20)
            assert "Go included" in text(browser, "inferred")
            (SHOTS / "webui-live.png").write_bytes(browser.screenshot())

            # live off: the page stops asking
            browser.click("#live")
            browser.evaluate("window.__asks = 0; const f = window.fetch; "
                             "window.fetch = (...a) => { window.__asks += 1; return f(...a); }; true")
            enq.enqueue("resize", {"i": 1})
            until(lambda: r.llen(k.jobs("resize")) == 0, what="the pool to run it")
            time.sleep(2.5)  # more than a refresh period
            assert browser.evaluate("window.__asks") == 0
            browser.click("#live")
            browser.wait_for("window.__asks > 0")
        finally:
            pool.stop(grace_period=5)
        assert not browser.page_errors()


def test_namespace_switcher(browser: Browser, redis_url: str, ns: str,  # noqa: F811
                            r: redis.Redis) -> None:
    a, b = ns + "-a", ns + "-b"
    seed(r, Keys(a))
    r.sadd(Keys(b).known_jobs, "only_in_b")
    with serving(create_app(redis_url, a, namespaces=[b])) as base:
        browser.navigate(base + "/#scheduled")
        browser.wait_for("!document.getElementById('ns-switch').hidden"
                         " && !!document.querySelector('#queues tr[data-queue=\"mail\"]')")
        assert browser.evaluate("[...document.querySelectorAll('#ns-switch option')].map((o) => o.value)") == [a, b]
        assert browser.evaluate("document.getElementById('ns-switch').value") == a
        browser.evaluate(f"const s = document.getElementById('ns-switch'); s.value = {json.dumps(b)};"
                         "s.dispatchEvent(new Event('change')); true")
        browser.wait_for(f"location.pathname === '/ns/{b}/' && location.hash === '#scheduled'"
                         " && !!document.querySelector('#queues tr[data-queue=\"only_in_b\"]')")
        assert browser.evaluate("document.querySelectorAll('#queues tr[data-queue]').length") == 1
        assert browser.evaluate("document.getElementById('ns-switch').value") == b
        browser.evaluate(f"const s = document.getElementById('ns-switch'); s.value = {json.dumps(a)};"
                         "s.dispatchEvent(new Event('change')); true")
        browser.wait_for(f"location.pathname === '/ns/{a}/'"
                         " && !!document.querySelector('#queues tr[data-queue=\"mail\"]')")
        assert not browser.page_errors()
