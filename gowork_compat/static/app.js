// gowork dashboard: polls the JSON API every 2 s and renders with DOM calls only
// (job data is only ever set as text, never parsed as markup).
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const PAGE_SIZE = 20;

  const state = {
    tab: "retry",        // retry | scheduled | dead | queued
    page: { retry: 1, scheduled: 1, dead: 1, queued: 1 },
    queuedName: "",
    deadFilter: { job_name: "", error: "" },  // dead jobs by name and/or error text
    search: { q: "", by: "id", cursor: 0, stack: [], next: 0 },  // a bounded search of the shown list
    detail: null,
    live: true,          // refresh every REFRESH_MS without reloading the page
    samples: [],         // [epoch s, queued total, dead count]: what this page saw, for the inferred rates        // { where, id, extra } while a job's detail view is shown
    counts: { retry: 0, scheduled: 0, dead: 0, queued: 0 },
    timer: null,
    busy: false,
  };

  const $ = (id) => document.getElementById(id);

  // -- helpers ----------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k.startsWith("data-")) node.setAttribute(k, String(v));
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function nowSec() { return Math.floor(Date.now() / 1000); }

  function duration(sec) {
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + "s";
    if (sec < 3600) return Math.floor(sec / 60) + "m " + (sec % 60) + "s";
    if (sec < 86400) return Math.floor(sec / 3600) + "h " + Math.floor((sec % 3600) / 60) + "m";
    return Math.floor(sec / 86400) + "d " + Math.floor((sec % 86400) / 3600) + "h";
  }

  function relative(epoch) {
    if (!epoch) return "–";
    const d = epoch - nowSec();
    if (Math.abs(d) <= 1) return "just now";
    return d > 0 ? "in " + duration(d) : duration(-d) + " ago";
  }

  function stamp(epoch) {
    const text = relative(epoch);
    const node = el("span", { text });
    if (epoch) node.title = new Date(epoch * 1000).toLocaleString();
    return node;
  }

  function argsText(args) {
    if (args === null || args === undefined) return "";
    if (typeof args === "string") return args;
    return JSON.stringify(args);
  }

  function emptyRow(tbody, cols, text) {
    tbody.replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: cols, text })));
  }

  let toastTimer = null;
  function toast(text, isError) {
    const t = $("toast");
    t.textContent = text;
    t.className = "toast" + (isError ? " error" : "");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
  }

  async function getJSON(path) {
    const resp = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    const body = await resp.json().catch(() => null);
    if (!resp.ok) throw new Error((body && body.error) || resp.status + " " + resp.statusText);
    return body;
  }

  async function post(path, payload) {
    const init = { method: "POST", headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const resp = await fetch(path, init);
    const body = await resp.json().catch(() => null);
    if (!resp.ok) throw new Error((body && body.error) || resp.status + " " + resp.statusText);
    return body;
  }

  // done: a message, or a function of the reply making one
  async function act(path, done, body) {
    try {
      const reply = await post(path, body);
      const text = typeof done === "function" ? done(reply) : done;
      if (text) toast(text, false);
    } catch (e) {
      toast(e.message, true);
    }
    refresh();
  }

  const enc = encodeURIComponent;

  // -- renderers ------------------------------------------------------------------------------
  function renderQueues(queues, locks) {
    const tbody = $("queues").tBodies[0];
    const byName = {};
    for (const l of locks || []) byName[l.job_name] = l;
    let total = 0;
    if (!queues || queues.length === 0) {
      emptyRow(tbody, 6, "no known jobs");
    } else {
      tbody.replaceChildren(...queues.map((q) => {
        total += q.count;
        const lk = byName[q.job_name] || { lock: 0, max_concurrency: 0, paused: false };
        const cap = lk.max_concurrency ? String(lk.max_concurrency) : "∞";
        const toggle = lk.paused
          ? el("button", { class: "btn small", "data-action": "unpause", text: "unpause",
              onclick: () => act("unpause/" + enc(q.job_name), "unpaused " + q.job_name) })
          : el("button", { class: "btn small", "data-action": "pause", text: "pause",
              onclick: () => act("pause/" + enc(q.job_name), "paused " + q.job_name) });
        const view = el("button", { class: "btn small", "data-action": "view", text: "view", disabled: q.count === 0,
          onclick: () => { state.queuedName = q.job_name; state.page.queued = 1; selectTab("queued"); } });
        const purge = el("button", { class: "btn small danger", "data-action": "purge", text: "purge",
          disabled: q.count === 0, onclick: () => {
            const typed = prompt("Purge all " + q.count + " waiting " + q.job_name + " jobs for good?\n" +
              "Type the job name to confirm:");
            if (typed === null) return;
            if (typed !== q.job_name) { toast("not purged: the typed name differs", true); return; }
            act("purge_queue/" + enc(q.job_name), (r) => "purged " + r.purged + " " + q.job_name + " jobs",
              { confirm: typed });
          } });
        const reset = el("button", { class: "btn small", "data-action": "reset-lock", text: "reset lock",
          title: "recount the running jobs from the live pools' lock_info", onclick: () => {
            if (confirmed("Reset the concurrency lock of " + q.job_name + " (now " + lk.lock + ")?")) {
              act("reset_lock/" + enc(q.job_name), (r) => q.job_name + " lock is now " + r.lock);
            }
          } });
        return el("tr", { "data-queue": q.job_name },
          el("td", {}, el("code", { text: q.job_name })),
          el("td", { class: "r", text: q.count }),
          el("td", { class: "r", text: q.count ? duration(q.latency) : "–" }),
          el("td", { class: "r", text: lk.lock + " / " + cap }),
          el("td", {}, el("span", { class: "pill " + (lk.paused ? "paused" : "active"),
            text: lk.paused ? "paused" : "active" })),
          el("td", { class: "r acts" }, view, toggle, reset, purge));
      }));
    }
    $("total-queued").textContent = total;
  }

  function renderPools(pools) {
    const tbody = $("pools").tBodies[0];
    if (!pools || pools.length === 0) { emptyRow(tbody, 6, "no worker pools"); return; }
    tbody.replaceChildren(...pools.map((p) => {
      const age = nowSec() - p.heartbeat_at;
      return el("tr", { "data-pool": p.worker_pool_id },
        el("td", {}, el("code", { text: p.worker_pool_id.slice(0, 12), title: p.worker_pool_id })),
        el("td", { text: (p.host || "?") + " · " + (p.pid || "?") }),
        el("td", { class: "r", text: p.concurrency }),
        el("td", {}, ...(p.job_names || []).map((n) => el("span", { class: "tag", text: n }))),
        el("td", { class: "r" }, stamp(p.started_at)),
        el("td", { class: "r" + (age > 10 ? " stale" : "") }, stamp(p.heartbeat_at)));
    }));
  }

  function renderBusy(busy) {
    const tbody = $("busy").tBodies[0];
    const list = busy || [];
    $("total-busy").textContent = list.length;
    if (list.length === 0) { emptyRow(tbody, 5, "no worker is busy"); return; }
    tbody.replaceChildren(...list.map((w) => el("tr", { "data-worker": w.worker_id },
      el("td", {}, el("code", { text: w.worker_id.slice(0, 12), title: w.worker_id })),
      el("td", {}, el("code", { text: w.job_name }), " ", el("span", { class: "mono", text: w.job_id })),
      el("td", { class: "args mono", text: w.args_json, title: w.args_json }),
      el("td", { class: "r", text: duration(nowSec() - w.started_at) }),
      el("td", {}, w.checkin ? el("span", {}, w.checkin, " ", el("small", { text: "(" + relative(w.checkin_at) + ")" }))
        : "–"))));
  }

  const WHEN = { retry: "retry_at", scheduled: "run_at", dead: "died_at", queued: "t" };
  const WHEN_LABEL = { retry: "retry at", scheduled: "runs", dead: "died", queued: "enqueued" };

  function confirmed(question) { return confirm(question); }

  function jobActions(tab, j) {
    const when = j[WHEN[tab]];
    const path = (verb) => verb + "/" + when + "/" + enc(j.id);
    const what = (j.name || "job") + " " + j.id;
    const del = (route, done) => el("button", { class: "btn small danger", "data-action": "delete", text: "delete",
      onclick: () => { if (confirmed("Delete " + tab + " job " + what + " for good?")) act(route, done); } });
    if (tab === "dead") {
      return [
        el("button", { class: "btn small", "data-action": "retry", text: "retry",
          onclick: () => act(path("retry_dead_job"), "job queued again") }),
        del(path("delete_dead_job"), "dead job deleted"),
      ];
    }
    if (tab === "retry") {
      return [
        el("button", { class: "btn small", "data-action": "run-now", text: "run now",
          onclick: () => act(path("run_retry_job_now"), "retry job queued now") }),
        del(path("delete_retry_job"), "retry job deleted"),
      ];
    }
    if (tab === "scheduled") {
      return [
        el("button", { class: "btn small", "data-action": "enqueue-now", text: "enqueue now",
          onclick: () => act(path("enqueue_scheduled_job_now"), "scheduled job queued now") }),
        del(path("delete_scheduled_job"), "scheduled job deleted"),
      ];
    }
    if (tab === "queued") {
      return [del("delete_queued_job/" + enc(j.id) + "/" + enc(state.queuedName), "queued job deleted")];
    }
    return [];
  }

  // a member that is not a readable job: its raw bytes (as text) and a delete action
  function unreadableRow(tab, j) {
    const del = el("button", { class: "btn small danger", "data-action": "delete-unreadable", text: "delete",
      onclick: () => {
        if (confirm("Delete this unreadable entry for good?\n\n" + j.raw.slice(0, 200))) {
          act("delete_unreadable/" + enc(j.where), "unreadable entry deleted",
            { raw_base64: j.raw_base64, job_name: j.job_name || "" });
        }
      } });
    return el("tr", { class: "unreadable", "data-unreadable": j.where },
      el("td", {}, el("span", { class: "pill unreadable", text: "unreadable" })),
      el("td", { class: "mono", text: "–" }),
      el("td", { class: "args mono raw", text: j.raw, title: j.raw }),
      el("td", { class: "r mono", text: j.score || "–" }),
      el("td", { class: "r", text: "–" }),
      el("td", { class: "err", text: j.error, title: j.error }),
      el("td", { class: "r" }, del));
  }

  function filterActive() {
    return tabHasFilter() && !!(state.deadFilter.job_name || state.deadFilter.error);
  }

  function tabHasFilter() { return state.tab === "dead"; }

  function filterQuery() {
    const f = state.deadFilter;
    let q = "";
    if (f.job_name) q += "&job_name=" + enc(f.job_name);
    if (f.error) q += "&error=" + enc(f.error);
    return q;
  }

  function describeFilter() {
    const f = state.deadFilter;
    const parts = [];
    if (f.job_name) parts.push("job name \u201c" + f.job_name + "\u201d");
    if (f.error) parts.push("error containing \u201c" + f.error + "\u201d");
    return parts.join(" and ");
  }

  function renderJobs(tab, data) {
    const tbody = $("job-list").tBodies[0];
    $("when-col").textContent = WHEN_LABEL[tab];
    const jobs = (data && data.jobs) || [];
    const count = (data && data.count) || 0;
    state.counts[tab] = count;
    const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
    if (state.page[tab] > pages) state.page[tab] = pages;
    const matching = tab === "dead" && filterActive();
    const searching = !!state.search.q;
    $("page-info").textContent = "page " + state.page[tab] + " of " + pages + " · " + count +
      (matching ? " matching" : "") + " jobs";
    if (searching) {
      state.search.next = data.cursor || 0;
      $("page-info").textContent = jobs.length + " found · " + data.scanned + " looked at" +
        (data.cursor ? " · more to search" : " · search complete");
    }
    $("dead-filter").hidden = tab !== "dead";
    $("retry-matching").hidden = $("delete-matching").hidden = !(matching && count > 0);
    $("retry-matching").dataset.count = $("delete-matching").dataset.count = String(count);
    $("prev").disabled = searching ? state.search.stack.length === 0 : state.page[tab] <= 1;
    $("next").disabled = searching ? !state.search.next : state.page[tab] >= pages;
    $("dead-bulk").hidden = !(tab === "dead" && count > 0 && !matching);
    if (jobs.length === 0) {
      emptyRow(tbody, 7, searching ? "no job here has " + (state.search.by === "id" ? "the id \u201c" :
        "args containing \u201c") + state.search.q + "\u201d" + (data.cursor ? " (yet: search on)" : "")
        : matching ? "no dead job matches " + describeFilter()
        : "no " + (tab === "queued" ? "waiting" : tab) + " jobs");
      return;
    }
    tbody.replaceChildren(...jobs.map((j) => {
      if (j.unreadable) return unreadableRow(tab, j);
      const args = argsText(j.args);
      return el("tr", { "data-job-id": j.id, "data-job-name": j.name || "" },
        el("td", {}, el("code", { text: j.name || "" })),
        el("td", { class: "mono" }, el("a", { href: detailRoute(tab, j), "data-action": "detail", text: j.id })),
        el("td", { class: "args mono", text: args, title: args }),
        el("td", { class: "r" }, stamp(j[WHEN[tab]])),
        el("td", { class: "r", text: j.fails || 0 }),
        el("td", { class: "err", text: j.err || "", title: j.err || "" }),
        el("td", { class: "r acts" }, ...jobActions(tab, j)));
    }));
  }

  function field(name, ...value) {
    return [el("dt", { text: name }), el("dd", {}, ...value)];
  }

  function renderDetail(d, data) {
    const body = $("detail-body");
    $("detail-title").textContent = d.id;
    if (!data || data.missing) {
      body.replaceChildren(el("p", { class: "empty", text: "job " + d.id + " is not in " + d.where +
        " (any more): " + ((data && data.missing) || "") }));
      return;
    }
    const j = data.job;
    const place = data.where === "queue" ? "queue " + data.job_name : data.where;
    const list = el("dl", { class: "fields" },
      ...field("where", place), ...field("name", el("code", { text: j.name || "" })),
      ...field("id", el("span", { class: "mono", text: j.id })),
      ...field("enqueued", stamp(j.t)),
      ...(data.where !== "queue" ? field(WHEN_LABEL[data.where], stamp(data.score)) : []),
      ...field("fails", String(j.fails || 0)),
      ...(j.err ? field("error", el("span", { class: "err-text", text: j.err })) : []),
      ...(j.failed_at ? field("failed", stamp(j.failed_at)) : []),
      ...(j.unique ? field("unique", j.unique_key || "yes") : []),
      ...field("running", data.running.length === 0 ? "no worker runs it now" : el("span", {},
        ...data.running.map((w) => el("div", { "data-running": w.worker_id }, "worker ",
          el("code", { text: w.worker_id }), " of pool ", el("code", { text: w.worker_pool_id || "?" }),
          " since ", stamp(w.started_at), w.checkin ? " · " + w.checkin : "")))));
    body.replaceChildren(list,
      el("h3", { text: "args" }), el("pre", { id: "detail-args", text: JSON.stringify(j.args, null, 2) }),
      el("h3", { text: "raw bytes" }), el("pre", { id: "detail-raw", class: "raw", text: data.raw }));
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  function renderThroughput(minutes) {
    const chart = $("chart");
    const list = minutes || [];
    const top = Math.max(1, ...list.map((m) => m.processed));
    const w = 600 / Math.max(1, list.length);
    const bars = [];
    list.forEach((m, i) => {
      const label = new Date(m.t * 1000).toLocaleTimeString() + ": " + m.processed + " processed, " +
        m.failed + " failed";
      const ph = (m.processed / top) * 110;
      const fh = (m.failed / top) * 110;
      const p = svg("rect", { class: "processed", x: i * w + 1, y: 120 - ph, width: w - 2, height: ph,
        "data-t": m.t, "data-processed": m.processed });
      const f = svg("rect", { class: "failed", x: i * w + 1, y: 120 - fh, width: w - 2, height: fh,
        "data-failed": m.failed });
      const tip = svg("title", {});
      tip.textContent = label;
      p.append(tip);
      bars.push(p, f);
    });
    chart.replaceChildren(...bars);
  }

  // Go pools keep no counters: what can be inferred is how the queue lengths and the dead
  // set changed between this page's samples (net of new enqueues)
  function sample(queued, dead) {
    const now = Date.now() / 1000;
    state.samples.push([now, queued, dead]);
    while (state.samples.length > 2 && now - state.samples[0][0] > 120) state.samples.shift();
    const first = state.samples[0];
    const span = now - first[0];
    if (span < 5) { $("inferred-text").textContent = "sampling queue lengths…"; return; }
    const perMin = (d) => Math.round((d / span) * 60);
    const q = perMin(queued - first[1]);
    const d = perMin(dead - first[2]);
    $("inferred-text").textContent = "queued jobs " + (q > 0 ? "+" : "") + q + "/min (a fall: jobs taken faster " +
      "than enqueued), dead " + (d > 0 ? "+" : "") + d + "/min, over the last " + Math.round(span) + " s seen by this page";
  }

  function renderCounts() {
    for (const t of ["retry", "scheduled", "dead"]) {
      $("tab-" + t + "-count").textContent = state.counts[t];
      $("total-" + t).textContent = state.counts[t];
    }
  }

  // -- tabs and paging ------------------------------------------------------------------------
  // the view lives in the URL: #retry, #scheduled, #dead, #queued/<job name>
  function routeOf(tab) {
    return tab === "queued" ? "#queued/" + enc(state.queuedName) : "#" + tab;
  }

  function selectTab(tab) {
    if (tab !== state.tab && state.search.q) { $("search-q").value = ""; resetSearch("", "id"); }
    if (state.detail) { state.detail = null; showDetail(false); }
    state.tab = tab;
    const want = routeOf(tab);
    if (location.hash !== want) history.pushState(null, "", want);
    $("tab-queued").hidden = !state.queuedName;
    $("tab-queued-name").textContent = state.queuedName;
    for (const b of document.querySelectorAll(".tabs [data-tab]")) {
      b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    }
    refresh();
  }

  // #job/<where>/<id>/<score, or the job name of a queue>
  function detailRoute(tab, j) {
    const where = tab === "queued" ? "queue" : tab;
    const extra = tab === "queued" ? state.queuedName : String(j[WHEN[tab]]);
    return "#job/" + where + "/" + enc(j.id) + "/" + enc(extra);
  }

  function detailPath(d) {
    if (d.where === "queue") return "job/queue/" + enc(d.id) + "?job_name=" + enc(d.extra);
    return "job/" + d.where + "/" + enc(d.id) + (d.extra ? "?score=" + enc(d.extra) : "");
  }

  function showDetail(on) {
    $("detail").hidden = !on;
    $("jobs").hidden = on;
  }

  function applyRoute() {
    const route = location.hash.slice(1);
    if (route.startsWith("job/")) {
      const parts = route.split("/").map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } });
      state.detail = { where: parts[1] || "", id: parts[2] || "", extra: parts.slice(3).join("/") };
      showDetail(true);
      refresh();
      return;
    }
    state.detail = null;
    showDetail(false);
    if (route.startsWith("queued/") && route.length > 7) {
      let name = route.slice(7);
      try { name = decodeURIComponent(name); } catch (e) { /* keep it as written */ }
      if (name !== state.queuedName) { state.queuedName = name; state.page.queued = 1; }
      selectTab("queued");
      return;
    }
    selectTab(["retry", "scheduled", "dead"].includes(route) ? route : "retry");
  }

  function listPath(tab) {
    if (state.search.q) {
      const place = tab === "queued" ? "queue?job_name=" + enc(state.queuedName) + "&" : tab + "?";
      return "search/" + place + "by=" + state.search.by + "&q=" + enc(state.search.q) + "&cursor=" + state.search.cursor;
    }
    const page = "?page=" + state.page[tab];
    if (tab === "queued") return "queued_jobs/" + enc(state.queuedName) + page;
    if (tab === "dead") return "dead_jobs" + page + filterQuery();
    return tab + "_jobs" + page;
  }

  // -- the refresh loop ---------------------------------------------------------------------
  async function refresh() {
    clearTimeout(state.timer);
    if (state.busy) { state.timer = setTimeout(refresh, 100); return; }
    state.busy = true;
    const tab = state.tab;
    try {
      // the tab counts are of whole sets (a filtered dead list asks for the total too)
      const lists = ["retry", "scheduled", "dead"].filter((t) => t !== tab || (t === "dead" && filterActive()));
      const detail = state.detail;
      const [queues, locks, pools, busy, current, shown, throughput, ...others] = await Promise.all([
        getJSON("queues"), getJSON("locks"), getJSON("worker_pools"), getJSON("busy_workers"),
        getJSON(listPath(tab)),
        detail ? getJSON(detailPath(detail)).catch((e) => ({ missing: e.message })) : null,
        getJSON("throughput?minutes=30"),
        ...lists.map((t) => getJSON(t + "_jobs?page=1")),
      ]);
      lists.forEach((t, i) => { state.counts[t] = others[i].count; });
      renderQueues(queues, locks);
      renderPools(pools);
      renderBusy(busy);
      const deadTotal = state.counts.dead;
      if (tab === state.tab) renderJobs(tab, current);  // else a newer refresh shows the tab now chosen
      if (tab === "dead" && filterActive()) state.counts.dead = deadTotal;
      renderCounts();
      if (detail && detail === state.detail) renderDetail(detail, shown);
      renderThroughput(throughput);
      sample(Number($("total-queued").textContent) || 0, state.counts.dead);
      const s = $("status");
      s.className = "status";
      s.textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      const s = $("status");
      s.className = "status error";
      s.textContent = "cannot refresh: " + e.message;
    } finally {
      state.busy = false;
      if (state.live) state.timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  // -- wiring -------------------------------------------------------------------------------------
  for (const b of document.querySelectorAll(".tabs [data-tab]")) {
    b.addEventListener("click", () => selectTab(b.dataset.tab));
  }
  $("prev").addEventListener("click", () => {
    if (state.search.q) { state.search.cursor = state.search.stack.pop() || 0; refresh(); return; }
    state.page[state.tab] = Math.max(1, state.page[state.tab] - 1); refresh();
  });
  $("next").addEventListener("click", () => {
    if (state.search.q) {
      if (!state.search.next) return;
      state.search.stack.push(state.search.cursor); state.search.cursor = state.search.next; refresh(); return;
    }
    state.page[state.tab] += 1; refresh();
  });
  $("detail-back").addEventListener("click", () => { location.hash = routeOf(state.tab); });
  function resetSearch(q, by) { state.search = { q, by, cursor: 0, stack: [], next: 0 }; }
  $("search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    resetSearch($("search-q").value.trim(), $("search-by").value);
    refresh();
  });
  $("search-clear").addEventListener("click", () => { $("search-q").value = ""; resetSearch("", "id"); refresh(); });
  $("retry-all").addEventListener("click", () => {
    if (confirm("Queue every dead job again?")) act("retry_all_dead_jobs", "dead jobs queued again");
  });
  $("delete-all").addEventListener("click", () => {
    if (confirm("Delete every dead job for good?")) act("delete_all_dead_jobs", "dead jobs deleted");
  });

  // dead jobs by filter: show the matching ones, requeue or delete them all (confirmed)
  $("dead-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.deadFilter = { job_name: $("filter-name").value.trim(), error: $("filter-error").value.trim() };
    state.page.dead = 1;
    refresh();
  });
  $("filter-clear").addEventListener("click", () => {
    $("filter-name").value = $("filter-error").value = "";
    state.deadFilter = { job_name: "", error: "" };
    state.page.dead = 1;
    refresh();
  });
  function matchingAction(verb) {
    if (!filterActive()) return;
    const n = $(verb + "-matching").dataset.count;
    const what = n + " dead job" + (n === "1" ? "" : "s") + " matching " + describeFilter();
    const question = verb === "retry" ? "Queue again the " + what + "?" : "Delete the " + what + " for good?";
    if (!confirm(question)) return;
    act(verb + "_dead_jobs?" + filterQuery().slice(1), (r) => {
      let text = (verb === "retry" ? "requeued " : "deleted ") + r.done + " of " + r.matched;
      if (r.unknown_name) text += "; " + r.unknown_name + " left dead (no pool runs their job name)";
      if (r.gone) text += "; " + r.gone + " already gone";
      if (r.kept) text += "; " + r.kept + " not retryable (buried malformed payloads)";
      return text;
    });
  }
  $("retry-matching").addEventListener("click", () => matchingAction("retry"));
  $("delete-matching").addEventListener("click", () => matchingAction("delete"));

  $("live").addEventListener("change", () => {
    state.live = $("live").checked;
    if (state.live) refresh(); else clearTimeout(state.timer);
  });
  window.addEventListener("popstate", applyRoute);
  window.addEventListener("hashchange", () => { if (state.detail || routeOf(state.tab) !== location.hash) applyRoute(); });

  // which namespace and Redis this page shows (a mistyped namespace looks like an idle system)
  getJSON("info").then((info) => {
    $("where-ns").textContent = info.namespace;
    $("where-redis").textContent = info.redis;
    document.title = "gowork · " + info.namespace;
    const names = info.namespaces || [];
    if (names.length > 1) {
      const sw = $("ns-switch");
      sw.replaceChildren(...names.map((n) => el("option", { value: n, text: n, selected: n === info.namespace })));
      sw.value = info.namespace;
      sw.hidden = false;
      $("where-ns").hidden = true;
      sw.addEventListener("change", () => {
        const path = location.pathname;
        const at = path.indexOf("/ns/");
        const root = at >= 0 ? path.slice(0, at + 1) : path.replace(/[^/]*$/, "");
        location.href = root + "ns/" + enc(sw.value) + "/" + location.hash;
      });
    }
  }).catch((e) => { $("where-ns").textContent = "?"; $("where-redis").textContent = e.message; });

  applyRoute();
})();
