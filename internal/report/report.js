// report.js draws the review page's cards from the JSON embedded in the
// page (xp-head: the first page; xp-data: every card) and runs its
// filters, search and pages. report.go embeds it in the page.
(function () {
  "use strict";
  // The first page is drawn from the small xp-head data as soon as this
  // script runs; every card (xp-data, after this script) is read once the
  // document is parsed, and only then do filters and pages work.
  var t0 = performance.now();
  var data = JSON.parse(document.getElementById("xp-head").textContent);
  var cards = data.cards, n = data.count, PAGE = data.page_size, loaded = false;
  var LABEL = data.labels;
  var CHECK = { missing: "missing", changed: "changed", "not-regular": "not a regular file", unreadable: "unreadable",
    unverified: "unverified", "not-downloaded": "not downloaded" };
  var d = document.body.dataset;

  function cents(c) {
    var s = c < 0 ? "-" : ""; c = Math.abs(c);
    return s + "$" + Math.floor(c / 100) + "." + String(c % 100).padStart(2, "0");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }

  // The index: card positions by status, kind and model, and by id.
  var byId = new Map(), facets = { status: new Map(), kind: new Map(), model: new Map() };
  function buildIndex() {
    cards.forEach(function (c, i) {
      byId.set(c.id, i);
      ["status", "kind", "model"].forEach(function (f) {
        var v = c[f] || "", list = facets[f].get(v);
        if (!list) { list = []; facets[f].set(v, list); }
        list.push(i);
      });
    });
  }
  var hay = null; // lower-case search text per card, built on the first search
  function haystack(i) {
    if (!hay) {
      hay = cards.map(function (c) {
        // A file's check reads "file changed", "file missing", ... so a
        // search finds the cards whose files are not as downloaded.
        var files = (c.files || []).concat.apply(c.files || [], (c.takes || []).map(function (t) { return t.files || []; }));
        return [c.address, c.model, c.kind, c.prompt, c.system, c.content, c.reason, c.next, c.task_id,
          files.map(function (f) { return (f.path || f.url) + " file " + (CHECK[f.check] || f.check); }).join("\n")].join("\n").toLowerCase();
      });
    }
    return hay[i];
  }

  var want = { status: "", kind: "", model: "", q: "" }, page = 0, result = [];
  function select() {
    var lists = [], checks = [];
    ["status", "kind", "model"].forEach(function (f) {
      if (want[f] !== "") { lists.push(facets[f].get(want[f]) || []); checks.push(f); }
    });
    var base;
    if (lists.length === 0) {
      base = new Array(n);
      for (var i = 0; i < n; i++) { base[i] = i; }
    } else {
      base = lists.reduce(function (a, b) { return a.length <= b.length ? a : b; });
      base = base.filter(function (i) {
        return checks.every(function (f) { return (cards[i][f] || "") === want[f]; });
      });
    }
    var terms = want.q.toLowerCase().split(/\s+/).filter(Boolean);
    if (terms.length) {
      base = base.filter(function (i) {
        var h = haystack(i);
        return terms.every(function (t) { return h.indexOf(t) >= 0; });
      });
    }
    result = base;
  }

  function mediaBox(f, cls) {
    var box = el("div", "media-box" + (cls ? " " + cls : ""));
    if (f.src && f.type === "image") {
      var img = add(box, el("img", "media"));
      img.loading = "lazy"; img.decoding = "async"; img.alt = f.name || ""; img.src = f.src;
    } else if (f.src && f.type === "video") {
      var v = el("video", "media");
      v.setAttribute("preload", "metadata"); v.controls = true; v.muted = true; v.playsInline = true;
      v.src = f.src + "#t=0.1";
      add(box, v);
    } else if (f.src) {
      box = el("div", "file-link");
      var a = add(box, el("a", null, f.name)); a.href = f.src;
    } else {
      box.classList.add(f.check === "not-downloaded" ? "placeholder" : "problem");
      add(box, el("span", null, f.check === "not-downloaded" ? "not downloaded yet" : "file " + CHECK[f.check] + ": not shown"));
    }
    return box;
  }

  function linkChip(l) {
    if (!l.id) { var s = el("span", "chip mono", l.address); s.title = "no card: not in the state or the spec"; return s; }
    var a = el("a", "mono", l.address); a.href = "#" + l.id; return a;
  }

  function meta(dl, k, v) {
    add(dl, el("dt", null, k));
    return add(dl, el("dd", null, v));
  }

  function costText(c) {
    var parts = [];
    parts.push(c.actual_cents != null ? cents(c.actual_cents) + " actual" : "no charge recorded");
    if (data.has_plan) {
      parts.push(c.estimated_cents != null ? "est. " + cents(c.estimated_cents) + " (" + c.price_source + ")" : "est. unknown");
    }
    if (c.takes_cents) { parts.push("earlier takes " + cents(c.takes_cents)); }
    return parts.join(" · ");
  }

  function takeLabel(t) {
    return "take " + t.n + (t.at ? " · " + t.at : "") + (t.cost_cents != null ? " · " + cents(t.cost_cents) : "");
  }
  function renderTakes(c, body) {
    var takes = c.takes || [];
    if (!takes.length) { return; }
    var det = add(body, el("details", "takes"));
    var prev = takes[takes.length - 1];
    add(det, el("summary", null, "Compare with the previous take (" + takes.length + " earlier)"));
    var cmp = add(det, el("div", "compare"));
    [[prev, takeLabel(prev)],
     [{ files: c.files, content: c.content, prompt: c.prompt }, "current"]].forEach(function (p) {
      var col = add(cmp, el("div"));
      add(col, el("p", "label", p[1]));
      (p[0].files || []).forEach(function (f) { add(col, mediaBox(f)); });
      if (p[0].content) { add(col, el("div", "content", p[0].content)); }
      if (p[0].prompt) { add(col, el("p", "prompt", p[0].prompt)); }
    });
    takes.slice(0, -1).reverse().forEach(function (t) {
      var row = add(det, el("div", "compare"));
      var col = add(row, el("div"));
      add(col, el("p", "label", takeLabel(t)));
      (t.files || []).forEach(function (f) { add(col, mediaBox(f)); });
      if (t.content) { add(col, el("div", "content", t.content)); }
      if (t.prompt) { add(col, el("p", "prompt", t.prompt)); }
    });
  }

  function renderCard(c) {
    var art = el("article", "card " + c.status);
    art.id = c.id; art.dataset.address = c.address; art.dataset.status = c.status;
    var h = add(art, el("header"));
    var a = add(h, el("a", "addr mono", c.address)); a.href = "#" + c.id;
    add(h, el("span", "pill " + c.status, LABEL[c.status] || c.status));
    var files = c.files || [];
    files.forEach(function (f) { if (f.type !== "file" || f.src) { add(art, mediaBox(f)); } });
    if (!files.length && (c.kind === "image" || c.kind === "video")) {
      var ph = add(art, el("div", "media-box placeholder"));
      add(ph, el("span", null, "no " + c.kind + " (" + (LABEL[c.status] || c.status) + ")"));
    }
    if (c.content) { add(art, el("div", "content", c.content)); }
    if (c.reason) {
      var r = add(art, el("div", "reason " + c.status));
      r.setAttribute("role", "note");
      add(r, el("strong", null, (LABEL[c.status] || c.status) + ": "));
      r.appendChild(document.createTextNode(c.reason));
    }
    files.forEach(function (f) {
      if (f.check === "ok") { return; }
      var box = add(art, el("div", "reason " + (f.check === "not-downloaded" ? "missing" : "integrity")));
      box.setAttribute("role", "note"); box.dataset.check = f.check;
      add(box, el("strong", null, f.check === "not-downloaded" ? "Not downloaded: " : "File " + CHECK[f.check] + ": "));
      box.appendChild(document.createTextNode((f.path || f.url) + ": " + f.why));
    });
    if (c.next) {
      var nx = add(art, el("div", "reason next"));
      add(nx, el("strong", null, "Next apply: "));
      nx.appendChild(document.createTextNode(c.next));
    }
    var body = add(art, el("div", "body"));
    if (c.prompt) { add(body, el("p", "label", "Prompt")); add(body, el("p", "prompt", c.prompt)); }
    if (c.system) { add(body, el("p", "label", "System")); add(body, el("p", "system", c.system)); }
    var dl = add(body, el("dl", "meta"));
    if (c.model) { meta(dl, "model", c.model).className = "mono"; }
    meta(dl, "cost", costText(c)).className = "cost";
    if (c.took) { meta(dl, "took", c.took); }
    if (c.usage) { meta(dl, "usage", c.usage); }
    (c.params || []).forEach(function (p) {
      var dd = meta(dl, p.key, p.link ? null : p.value);
      if (p.link) { var l = add(dd, el("a", "mono", "output of " + p.link_address)); l.href = "#" + p.link; l.title = p.value; }
    });
    files.forEach(function (f) {
      if (!f.src || !f.size) { return; }
      var dd = meta(dl, "file", null);
      var l = add(dd, el("a", null, f.name)); l.href = f.src;
      dd.appendChild(document.createTextNode(" · " + f.size));
    });
    renderTakes(c, body);
    [["uses", "Uses", "upstream"], ["used_by", "Used by", "downstream"]].forEach(function (x) {
      var ls = c[x[0]] || [];
      if (!ls.length) { return; }
      var div = add(body, el("div", "links " + x[2]));
      add(div, el("span", "label", x[1]));
      ls.forEach(function (l) { add(div, linkChip(l)); });
    });
    return art;
  }

  var root = document.getElementById("cards");
  function pager(box, pages) {
    var total = loaded ? result.length : n;
    box.textContent = "";
    box.hidden = false;
    var prev = add(box, el("button", null, "‹ Previous")); prev.type = "button"; prev.disabled = page === 0;
    prev.addEventListener("click", function () { go(page - 1); });
    var from = total ? page * PAGE + 1 : 0, to = Math.min(total, (page + 1) * PAGE);
    add(box, el("span", null, "page " + (page + 1) + " of " + pages + " · assets " + from + "–" + to + " of " + total +
      (total !== n ? " (filtered from " + n + ")" : "") + (loaded ? "" : " · loading the rest…")));
    var next = add(box, el("button", null, "Next ›")); next.type = "button"; next.disabled = !loaded || page >= pages - 1;
    next.addEventListener("click", function () { go(page + 1); });
  }
  function pageCount() { return Math.max(1, Math.ceil((loaded ? result.length : n) / PAGE)); }
  function render() {
    var pages = pageCount();
    page = Math.min(Math.max(0, page), pages - 1);
    root.textContent = "";
    var frag = document.createDocumentFragment(), grid = null, block = null;
    result.slice(page * PAGE, (page + 1) * PAGE).forEach(function (i) {
      var c = cards[i];
      if (c.block !== block) {
        block = c.block;
        var sec = add(frag, el("section", "group"));
        sec.id = "block-" + block;
        var h2 = add(sec, el("h2"));
        add(h2, el("span", "mono", block)); add(h2, el("span", "kind", c.kind));
        grid = add(sec, el("div", "grid"));
      }
      grid.appendChild(renderCard(c));
    });
    if (!result.length && n) { add(frag, el("p", "empty", "No asset matches these filters.")); }
    root.appendChild(frag);
    pagers();
    d.shown = root.querySelectorAll("article.card").length;
    watchMedia();
  }
  function pagers() {
    var pages = pageCount();
    pager(document.getElementById("pager-top"), pages);
    pager(document.getElementById("pager-bottom"), pages);
    d.matches = loaded ? result.length : n; d.page = page + 1; d.pages = pages;
  }
  function go(p) { page = p; render(); window.scrollTo(0, 0); }

  // Count decoded images and videos with metadata on the shown page;
  // record "ok/total" on <body> (data-img-ok, data-video-ok, data-media-ok)
  // and mark broken ones.
  function watchMedia() {
    var imgs = root.querySelectorAll("img.media"), vids = root.querySelectorAll("video.media");
    function check() {
      var io = 0, vo = 0;
      imgs.forEach(function (i) {
        var ok = i.complete && i.naturalWidth > 0;
        if (ok) { io++; }
        i.parentNode.classList.toggle("broken", i.complete && !ok);
      });
      vids.forEach(function (v) {
        if (v.readyState >= 1) { vo++; }
        v.parentNode.classList.toggle("broken", !!v.error);
      });
      d.imgOk = io + "/" + imgs.length;
      d.videoOk = vo + "/" + vids.length;
      d.mediaOk = (io + vo) + "/" + (imgs.length + vids.length);
    }
    imgs.forEach(function (i) { i.addEventListener("load", check); i.addEventListener("error", check); });
    vids.forEach(function (v) { v.addEventListener("loadedmetadata", check); v.addEventListener("error", check); });
    check();
  }

  // Filters.
  var nav = document.getElementById("filters");
  function fill(sel, facet) {
    Array.from(facets[facet].keys()).filter(Boolean).sort().forEach(function (v) {
      var o = add(sel, el("option", null, v + " (" + facets[facet].get(v).length + ")")); o.value = v;
    });
  }
  var fKind = document.getElementById("f-kind"), fModel = document.getElementById("f-model"), fQ = document.getElementById("f-q");
  function apply() {
    if (!loaded) { return; }
    nav.querySelectorAll("button[data-filter]").forEach(function (x) {
      x.setAttribute("aria-pressed", x.dataset.filter === want.status ? "true" : "false");
    });
    fKind.value = want.kind; fModel.value = want.model; fQ.value = want.q;
    select(); page = 0; render();
    var qs = new URLSearchParams();
    Object.keys(want).forEach(function (k) { if (want[k]) { qs.set(k, want[k]); } });
    try { history.replaceState(null, "", (qs.toString() ? "?" + qs : location.pathname) + location.hash); } catch (e) { /* file:// in some browsers */ }
  }
  nav.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-filter]");
    if (b) { want.status = b.dataset.filter; apply(); }
  });
  fKind.addEventListener("change", function () { want.kind = fKind.value; apply(); });
  fModel.addEventListener("change", function () { want.model = fModel.value; apply(); });
  var timer = 0;
  fQ.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { want.q = fQ.value; apply(); }, 120);
  });
  // Enter, or clearing the field, searches at once.
  fQ.addEventListener("search", function () { clearTimeout(timer); want.q = fQ.value; apply(); });

  // A link to a card (#asset-...) shows the page it is on, clearing the
  // filters if they hide it.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1)), i = byId.get(id);
    if (i === undefined) { return; }
    var pos = result.indexOf(i);
    if (pos < 0) { want = { status: "", kind: "", model: "", q: "" }; apply(); pos = result.indexOf(i); }
    var p = Math.floor(pos / PAGE);
    if (p !== page || !document.getElementById(id)) { page = p; render(); }
    var e = document.getElementById(id);
    root.querySelectorAll(".targeted").forEach(function (x) { x.classList.remove("targeted"); });
    e.classList.add("targeted");
    e.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);

  // The first page, at once, unless the URL asks for filters or a card:
  // then it waits for every card rather than flash the wrong ones.
  var preset = /[?&](status|kind|model|q)=/.test(location.search) || /^#asset-/.test(location.hash);
  if (!preset) {
    result = cards.map(function (_, i) { return i; });
    render();
    d.cardsAtMs = Math.round(performance.now()); // since navigation start
  }
  var firstMs = performance.now() - t0;

  // Then every card, the index and the filters.
  function init() {
    var t1 = performance.now();
    data = JSON.parse(document.getElementById("xp-data").textContent);
    cards = data.cards; n = cards.length; loaded = true;
    buildIndex();
    fill(fKind, "kind"); fill(fModel, "model");
    nav.hidden = false;
    var qs = new URLSearchParams(location.search);
    Object.keys(want).forEach(function (k) { want[k] = qs.get(k) || ""; });
    fKind.value = want.kind; fModel.value = want.model; fQ.value = want.q;
    nav.querySelectorAll("button[data-filter]").forEach(function (x) {
      x.setAttribute("aria-pressed", x.dataset.filter === want.status ? "true" : "false");
    });
    select();
    if (preset) { render(); } else { pagers(); }
    reveal();
    if (preset) { d.cardsAtMs = Math.round(performance.now()); }
    d.firstRenderMs = Math.round(firstMs + performance.now() - t1);
    d.ready = "1";
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
