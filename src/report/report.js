// The report's only script (in <head>, listening on the document, so it works while rows are still
// being parsed): collapsing subtrees (a class on the row; CSS hides the next `.k`; a subtree that
// starts collapsed is an inert <template class="k"> made live once, when first opened), the span
// panel (tags from one JSON block, parsed on first use), and `#span-TRACE-SPAN` links.
// Data is only ever written with textContent, never as markup.
(function () {
  "use strict";
  var data = null;
  // Null until the block at the end of the page has been parsed.
  function traces() {
    if (data === null) {
      var block = document.getElementById("tc-data");
      if (block === null) return null;
      data = JSON.parse(block.textContent);
    }
    return data;
  }
  function trace(id) {
    var all = traces();
    return all === null ? undefined : all[id];
  }
  function ms(ns) {
    return ns === null ? "-" : (ns / 1e6).toFixed(3) + "ms";
  }
  function rowAt(wf, index) {
    return wf.querySelector('.sp[data-i="' + index + '"]');
  }
  function hasKids(row) {
    var next = row.nextElementSibling;
    return next !== null && next.classList.contains("k");
  }
  // The row's subtree as a live element (turning its template into a div the first time).
  function live(row) {
    var next = row.nextElementSibling;
    if (next === null || !next.classList.contains("k")) return null;
    if (next.tagName === "TEMPLATE") {
      var k = document.createElement("div");
      k.className = "k";
      k.appendChild(next.content);
      next.replaceWith(k);
      return k;
    }
    return next;
  }
  function open(row) {
    if (live(row) !== null) row.classList.remove("c");
  }
  function cell(tr, tag, text) {
    var c = document.createElement(tag);
    c.textContent = text;
    tr.appendChild(c);
  }
  function table(body, rows, head) {
    var t = document.createElement("table");
    if (head) {
      var h = document.createElement("tr");
      head.forEach(function (x) { cell(h, "th", x); });
      t.appendChild(h);
    }
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      cell(tr, "th", r[0]);
      for (var i = 1; i < r.length; i++) cell(tr, "td", r[i]);
      t.appendChild(tr);
    });
    body.appendChild(t);
  }
  // Per trace: {t: [[scope, key, value], ...], s: [[span_id, parent, name, service, kind, status,
  // status_message, offset_ns, duration_ns, [tag index, ...]], ...]} (see html.rs, trace_json).
  function show(wf, index) {
    var traceId = wf.getAttribute("data-t");
    var tr = trace(traceId);
    if (tr === undefined) return;
    var s = tr.s[index];
    var body = document.getElementById("tc-body");
    body.textContent = "";
    var h = document.createElement("h3");
    h.textContent = s[2] === "" ? "(no name)" : s[2].trim() === "" ? "(blank name " + JSON.stringify(s[2]) + ")" : s[2];
    body.appendChild(h);
    var status = s[5] + (s[6] === null ? "" : ": " + s[6]);
    table(body, [["service", s[3]], ["span id", s[0]], ["parent", s[1] === null ? "-" : s[1]],
      ["trace id", traceId], ["kind", s[4]], ["status", status],
      ["start", s[7] === null ? "-" : "+" + ms(s[7])], ["duration", ms(s[8])]]);
    if (s[9].length > 0) {
      table(body, s[9].map(function (k) {
        var t = tr.t[k];
        return [t[1], t[2], t[0]];
      }), ["tag", "value", "scope"]);
    } else {
      var p = document.createElement("p");
      p.className = "note";
      p.textContent = "No tags.";
      body.appendChild(p);
    }
    var link = document.createElement("a");
    link.href = "#span-" + traceId + "-" + s[0];
    link.textContent = "link to this span";
    body.appendChild(link);
    document.getElementById("tc-panel").hidden = false;
    var old = document.querySelector(".sp.sel");
    if (old) old.classList.remove("sel");
    var row = rowAt(wf, index);
    if (row) row.classList.add("sel");
  }
  function setAll(wf, collapsed) {
    if (!collapsed) {
      // Opening a template can reveal more templates inside it.
      for (var ts = wf.querySelectorAll("template.k"); ts.length > 0; ts = wf.querySelectorAll("template.k")) {
        ts.forEach(function (t) { live(t.previousElementSibling); });
      }
    }
    wf.querySelectorAll(".sp").forEach(function (row) {
      if (hasKids(row)) row.classList.toggle("c", collapsed);
    });
  }
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!(t instanceof Element)) return;
    if (t.id === "tc-close") {
      document.getElementById("tc-panel").hidden = true;
      return;
    }
    var button = t.closest("button[data-act]");
    if (button) {
      setAll(button.closest(".trace").querySelector(".wf"), button.getAttribute("data-act") === "close");
      return;
    }
    var row = t.closest(".sp");
    if (!row) return;
    if (t.classList.contains("tg")) {
      if (row.classList.contains("c")) open(row);
      else row.classList.add("c");
      return;
    }
    show(row.closest(".wf"), Number(row.getAttribute("data-i")));
  });
  // `#span-TRACE-SPAN`: open the first drawing of that trace at that span, opening its ancestors.
  function fromHash() {
    var m = /^#span-([0-9a-f]{32})-([0-9a-f]{16})$/.exec(location.hash);
    if (!m) return;
    var wf = document.querySelector('.wf[data-t="' + m[1] + '"]');
    var tr = trace(m[1]);
    if (!wf || !tr) return;
    var index = {};
    tr.s.forEach(function (s, i) { if (!(s[0] in index)) index[s[0]] = i; });
    if (!(m[2] in index)) return;
    var chain = [];
    for (var i = index[m[2]]; i !== undefined && chain.indexOf(i) < 0; i = index[tr.s[i][1]]) {
      chain.unshift(i);
    }
    chain.slice(0, -1).forEach(function (a) {
      var row = rowAt(wf, a);
      if (row && row.classList.contains("c")) open(row);
    });
    show(wf, chain[chain.length - 1]);
    var target = rowAt(wf, chain[chain.length - 1]);
    if (target) target.scrollIntoView({ block: "center" });
  }
  window.addEventListener("hashchange", fromHash);
  document.addEventListener("DOMContentLoaded", function () {
    fromHash();
    var total = 0;
    document.querySelectorAll(".wf").forEach(function (wf) { total += Number(wf.getAttribute("data-n")); });
    document.body.setAttribute("data-rows", String(total));
    // Also says how long the page took, for the browser tests to report.
    var paint = performance.getEntriesByName("first-contentful-paint")[0];
    console.log("tracecheck report ready: " + total + " rows, " +
      document.querySelectorAll(".sp").length + " in the document; parsed after " +
      Math.round(performance.now()) + " ms, first paint " + (paint ? Math.round(paint.startTime) + " ms" : "later"));
  });
})();
