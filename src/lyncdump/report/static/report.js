/*
 * lyncdump report: the page's whole behaviour. It reads the JSON document embedded in the
 * page (report/data.py says its shape) and draws one view at a time, on demand:
 *
 *   #overview  #calls  #streams  #signins  #im  #presence  #other  #diagnostics  #defects
 *   #call/N    #session/N        #stream/N
 *
 * Tables show PAGE rows and grow on request; a ladder draws its first LADDER_ROWS rows;
 * charts are made when their card scrolls into view. So a capture of 10,000 SIP messages and
 * 1,000 streams opens at once: the page holds data, not drawn elements.
 *
 * Capture text is hostile input: it only ever reaches the page through textContent and
 * attribute values set by the DOM API, never as markup.
 */
(function () {
  "use strict";

  const PAGE = 200;
  const LADDER_ROWS = 1000;
  const SVG = "http://www.w3.org/2000/svg";
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const view = document.getElementById("view");
  const searchBox = document.getElementById("search");
  const charts = []; // [{stream, points, plot}] for tests and resizing
  window.lyncdumpReport = { data: D, charts: charts };

  // -- small helpers ---------------------------------------------------------------------------
  function h(tag, attrs) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const k in attrs) {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === "text") el.textContent = String(v);
        else if (k === "cls") el.className = v;
        else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach((c) => add(el, c));
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  function s(tag, attrs) {
    const el = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) {
      if (k === "text") el.textContent = String(attrs[k]);
      else el.setAttribute(k, String(attrs[k]));
    }
    return el;
  }
  function pad(n, w) { return String(n).padStart(w, "0"); }
  function utc(t, withDate) {
    if (t === null || t === undefined) return "-";
    const d = new Date(t * 1000);
    if (isNaN(d.getTime())) return String(t);
    const time = pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" +
      pad(d.getUTCSeconds(), 2) + "." + pad(d.getUTCMilliseconds(), 3);
    if (!withDate) return time;
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2) +
      " " + time + " UTC";
  }
  function num(x, digits) {
    if (x === null || x === undefined) return "-";
    if (typeof x !== "number") return String(x);
    return digits === undefined ? x.toLocaleString("en") : x.toFixed(digits);
  }
  function secs(x) { return x === null || x === undefined ? "-" : x.toFixed(3) + " s"; }
  function bytes(n) {
    const units = ["B", "kB", "MB", "GB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }
  function addr(i) { return D.addrs[i]; }
  function hostOf(text) {
    if (!text) return "?";
    if (text[0] === "[") { const e = text.indexOf("]"); return e > 0 ? text.slice(0, e + 1) : text; }
    const c = text.lastIndexOf(":");
    return c > 0 && /^\d+$/.test(text.slice(c + 1)) ? text.slice(0, c) : text;
  }
  function role(host) { return D.roles[host] || ""; }
  function named(text) {
    const r = role(hostOf(text));
    return r ? r + " " + text : text;
  }
  function link(href, text) { return h("a", { href: href, text: text }); }
  function section(title, ...children) {
    return h("section", { cls: "card" }, h("h2", { text: title }), children);
  }
  function kv(pairs) {
    const dl = h("dl", { cls: "kv" });
    pairs.forEach(([k, v]) => {
      if (v === null || v === undefined || v === "") return;
      dl.appendChild(h("dt", { text: k }));
      dl.appendChild(h("dd", null, v));
    });
    return dl;
  }
  function badge(text, kind) { return h("span", { cls: "badge " + (kind || ""), text: text }); }

  // -- relayed media ---------------------------------------------------------------------------
  // A stream TURN relayed carries `relay` (the server, the relayed address, the transport to the
  // server, how it was carried, the outer addresses of the packets that carried it); a call
  // lists its relays once each in `relays`.
  function relayName(r) {
    return named(r.server || r.relayed || "?") + " (" + r.transport + (r.relayed && r.server ? ", relayed address " + r.relayed : "") + ")";
  }
  function callPath(c) {
    if (!c.relays || !c.relays.length) return c.path;
    return "relayed via " + c.relays.map(relayName).join(", ") + (c.path && c.path !== "relayed" ? "; ICE: " + c.path : "");
  }
  function streamPath(st) { return st.relay ? "relayed via " + relayName(st.relay) : "direct"; }
  function relayFacts(r) {
    if (!r) return null;
    return [
      "via " + named(r.server || "?") + (r.relayed ? ", relayed address " + r.relayed : ""),
      " over " + r.transport + " (" + r.via.join(", ") + ")",
      h("br"), "outer " + named(r.outer_src) + " → " + named(r.outer_dst),
      r.allocation !== null ? ", allocation #" + r.allocation : "",
      r.channel !== null ? ", channel " + r.channel : "",
    ];
  }

  // -- search ----------------------------------------------------------------------------------
  // Words all have to match; "kind:call", "call-id:X" and "user:X" look at one field only.
  function parseQuery(q) {
    return q.toLowerCase().split(/\s+/).filter(Boolean).map((w) => {
      const m = /^(kind|call-id|callid|user):(.*)$/.exec(w);
      return m ? { field: m[1] === "callid" ? "call-id" : m[1], value: m[2] } : { value: w };
    });
  }
  let query = [];
  function matches(item) {
    for (const t of query) {
      if (!t.value) continue;
      if (t.field === "kind") { if ((item.kind || "") !== t.value) return false; }
      else if (t.field === "call-id") { if (!(item.callId || "").toLowerCase().includes(t.value)) return false; }
      else if (t.field === "user") { if (!(item.users || "").includes(t.value)) return false; }
      else if (!item.all.includes(t.value)) return false;
    }
    return true;
  }
  function searchItem(kind, callId, users, extra) {
    const u = (users || []).filter(Boolean).join(" ").toLowerCase();
    return {
      kind: kind, callId: callId || "", users: u,
      all: [kind, callId || "", u, extra || ""].join(" ").toLowerCase(),
    };
  }
  D.sessions.forEach((x) => {
    x._search = searchItem(x.kind, x.call_id, [x.from, x.to].concat(x.participants || []), x.outcome);
  });
  D.calls.forEach((c) => {
    const sess = c.session !== null ? D.sessions[c.session] : null;
    c._search = searchItem("call", c.call_id,
      [c.caller, c.callee].concat(sess ? sess.participants : []), c.state + " " + (c.findings || []).join(" "));
  });
  D.streams.forEach((st) => {
    const call = st.call !== null ? D.calls[st.call] : null;
    st._search = searchItem("stream", st.call_id, call ? [call.caller, call.callee] : [],
      st.src + " " + st.dst + " " + st.ssrc_hex + " " + st.payload +
      (st.relay ? " " + ["relayed", st.relay.server, st.relay.relayed, st.relay.outer_src, st.relay.outer_dst].filter(Boolean).join(" ") : ""));
  });
  D.defects.forEach((d) => { d._search = searchItem("defect", "", [], d.slice(0, 4).join(" ")); });
  D.diagnostics.forEach((d) => {
    d._search = searchItem("diagnostic", d.call_id, d.uris, [d.severity, d.level, d.result_code,
      d.result_name, d.text, d.host, d.peer, d.about].filter(Boolean).join(" "));
  });

  // -- tables ----------------------------------------------------------------------------------
  // columns: [{title, get(row) -> value for sorting, show(row) -> node or text, num}]
  function table(rows, columns, options) {
    options = options || {};
    const wrap = h("div", { cls: "table-wrap" });
    let sortCol = options.sort === undefined ? -1 : options.sort;
    let sortDir = 1;
    let shown = PAGE;
    const tbl = h("table", { cls: "grid" + (options.cls ? " " + options.cls : "") });
    const thead = h("thead");
    const tbody = h("tbody");
    const more = h("button", { cls: "more", type: "button" });
    const counter = h("p", { cls: "muted count" });
    tbl.appendChild(thead);
    tbl.appendChild(tbody);
    function header() {
      thead.textContent = "";
      const tr = h("tr");
      columns.forEach((col, i) => {
        const arrow = i === sortCol ? (sortDir > 0 ? " ▲" : " ▼") : "";
        tr.appendChild(h("th", {
          text: col.title + arrow, cls: col.num ? "num sortable" : "sortable", scope: "col",
          title: "Sort by " + col.title,
          onclick: () => { if (sortCol === i) sortDir = -sortDir; else { sortCol = i; sortDir = 1; } draw(); },
        }));
      });
      thead.appendChild(tr);
    }
    function draw() {
      header();
      let list = rows;
      if (sortCol >= 0) {
        const get = columns[sortCol].get;
        list = rows.slice().sort((a, b) => {
          const x = get(a), y = get(b);
          if (x === y) return 0;
          if (x === null || x === undefined || x === "") return 1;
          if (y === null || y === undefined || y === "") return -1;
          return (x < y ? -1 : 1) * sortDir;
        });
      }
      tbody.textContent = "";
      const frag = document.createDocumentFragment();
      list.slice(0, shown).forEach((row) => {
        const tr = h("tr", options.href ? { cls: "link", "data-href": options.href(row) } : null);
        if (options.href) tr.addEventListener("click", (e) => {
          if (e.target.tagName !== "A") location.hash = options.href(row);
        });
        columns.forEach((col) => {
          const v = col.show ? col.show(row) : col.get(row);
          tr.appendChild(h("td", { cls: col.num ? "num" : "" }, v === null || v === undefined ? "-" : v));
        });
        frag.appendChild(tr);
      });
      tbody.appendChild(frag);
      counter.textContent = list.length ? "Showing " + Math.min(shown, list.length) + " of " + list.length : "Nothing to show.";
      more.style.display = list.length > shown ? "" : "none";
      more.textContent = "Show " + Math.min(PAGE, list.length - shown) + " more";
    }
    more.addEventListener("click", () => { shown += PAGE; draw(); });
    draw();
    wrap.appendChild(counter);
    wrap.appendChild(tbl);
    wrap.appendChild(more);
    return wrap;
  }

  // -- the ladder ------------------------------------------------------------------------------
  // events: {t, src, dst, label, facts, kind (sip|ice|turn|media-start|media-stop|diag), frame,
  // number (the frame as shown: "#5", or "A#5" on a merged time line), retrans}. A server-log
  // diagnostic (kind diag) is a mark on its logging host's line, not an arrow.
  function ladder(events, options) {
    options = options || {};
    const wrap = h("div", { cls: "ladder-wrap" });
    events = events.slice().sort((a, b) => (a.t === null ? 0 : a.t) - (b.t === null ? 0 : b.t) || (a.frame || 0) - (b.frame || 0));
    const hosts = [];
    const col = {};
    events.forEach((e) => [e.src, e.dst].forEach((a) => {
      const hst = hostOf(a);
      if (!(hst in col)) { col[hst] = hosts.length; hosts.push(hst); }
    }));
    const t0 = options.t0 !== undefined && options.t0 !== null ? options.t0 :
      (events.length && events[0].t !== null ? events[0].t : 0);
    let limit = Math.min(events.length, LADDER_ROWS);
    const colW = 190, left = 170, top = 54, rowH = 26;
    function draw() {
      wrap.textContent = "";
      // A diagnostic's label runs right of its host's line: room for it past the last column.
      const width = left + Math.max(1, hosts.length) * colW + (events.some((e) => e.kind === "diag") ? 260 : 40);
      const height = top + limit * rowH + 20;
      const svg = s("svg", { class: "ladder", width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img" });
      svg.appendChild(s("title", { text: (options.title || "Ladder") + ": " + events.length + " events between " + hosts.length + " hosts" }));
      const defs = s("defs");
      ["sip", "ice", "turn", "media"].forEach((k) => {
        const m = s("marker", { id: "arrow-" + k, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
        m.appendChild(s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "head " + k }));
        defs.appendChild(m);
      });
      svg.appendChild(defs);
      hosts.forEach((hst, i) => {
        const x = left + i * colW + colW / 2;
        const r = role(hst);
        svg.appendChild(s("text", { x: x, y: 18, class: "col-role", "text-anchor": "middle", text: r || "host" }));
        svg.appendChild(s("text", { x: x, y: 36, class: "col-host", "text-anchor": "middle", text: hst }));
        svg.appendChild(s("line", { x1: x, y1: top - 8, x2: x, y2: height - 10, class: "lifeline" }));
      });
      for (let i = 0; i < limit; i++) {
        const e = events[i];
        const y = top + i * rowH + 16;
        const x1 = left + col[hostOf(e.src)] * colW + colW / 2;
        const x2 = left + col[hostOf(e.dst)] * colW + colW / 2;
        const kind = e.kind.startsWith("media") ? "media" : e.kind;
        const g = s("g", { class: "row " + e.kind + (e.severity ? " " + e.severity : "") + (e.retrans ? " retrans" : ""), "data-frame": e.frame === null ? "" : e.frame });
        const rel = e.t === null ? "" : "+" + (e.t - t0).toFixed(3) + "s";
        const number = e.number || (e.frame === null || e.frame === undefined ? "" : "#" + e.frame);
        g.appendChild(s("text", { x: 4, y: y + 4, class: "time", text: rel }));
        g.appendChild(s("text", { x: 74, y: y + 4, class: "frame", text: number }));
        if (e.kind === "diag") {
          g.appendChild(s("path", { d: "M " + x1 + " " + (y - 8) + " l 8 8 l -8 8 l -8 -8 z", class: "diag-mark" }));
          const text = e.label.length > 60 ? e.label.slice(0, 59) + "…" : e.label;
          g.appendChild(s("text", { x: x1 + 14, y: y + 4, class: "label", "text-anchor": "start", text: text }));
          g.appendChild(s("title", { text: number + " " + utc(e.t) + "  " + e.src + "\n" + e.label + (e.facts ? "\n" + e.facts : "") }));
          svg.appendChild(g);
          continue;
        }
        let shape;
        if (x1 === x2) {
          shape = s("path", { d: "M " + x1 + " " + (y - 6) + " h 34 v 12 h -32", class: "arrow " + (e.kind === "sip" ? "msg " : "") + kind, "marker-end": "url(#arrow-" + kind + ")" });
        } else {
          shape = s("line", { x1: x1, y1: y, x2: x2 + (x2 > x1 ? -2 : 2), y2: y, class: "arrow " + (e.kind === "sip" ? "msg " : "") + kind, "marker-end": "url(#arrow-" + kind + ")" });
        }
        g.appendChild(shape);
        const lx = x1 === x2 ? x1 + 40 : (x1 + x2) / 2;
        const label = e.label.length > 46 ? e.label.slice(0, 45) + "…" : e.label;
        g.appendChild(s("text", { x: lx, y: y - 5, class: "label", "text-anchor": x1 === x2 ? "start" : "middle", text: label }));
        g.appendChild(s("title", { text: (number ? number + " " : "") + utc(e.t) + "  " + e.src + " → " + e.dst + "\n" + e.label + (e.facts ? "\n" + e.facts : "") + (e.retrans ? "\n(retransmission)" : "") }));
        svg.appendChild(g);
      }
      wrap.appendChild(svg);
      if (limit < events.length) {
        wrap.appendChild(h("button", {
          cls: "more", type: "button", text: "Draw " + Math.min(LADDER_ROWS, events.length - limit) + " more rows (" + (events.length - limit) + " left)",
          onclick: () => { limit = Math.min(events.length, limit + LADDER_ROWS); draw(); },
        }));
      }
    }
    draw();
    return wrap;
  }
  function messageEvents(session) {
    return session.msgs.map((m) => ({
      frame: m[0], t: m[1], src: addr(m[2]), dst: addr(m[3]), transport: m[4], label: m[5],
      facts: m[6], retrans: m[7], kind: "sip", number: m[9],
    })).concat((session.diags || []).map((i) => diagEvent(D.diagnostics[i])));
  }
  function diagEvent(d) {
    const code = [d.result_code, d.result_name].filter(Boolean).join(" ");
    return {
      frame: d.record, number: d.number, t: d.time, src: d.host, dst: d.host, kind: "diag",
      severity: d.severity, retrans: 0,
      label: (d.severity || "-") + ": " + (d.result_name || d.result_code || d.text),
      facts: [code, d.text, d.about ? "about " + d.about : "", d.meaning ? "= " + d.meaning : ""].filter(Boolean).join("\n"),
    };
  }
  function messageTable(session) {
    const t0 = session.start;
    const merged = session.msgs.length && session.msgs[0].length > 9;
    return table(session.msgs, [
      { title: "Frame", get: (m) => m[0], num: true, show: (m) => m[9] || m[0] },
      { title: "Time", get: (m) => m[1], show: (m) => m[1] === null ? "-" : "+" + (m[1] - t0).toFixed(3) + "s" },
      { title: "From", get: (m) => addr(m[2]), show: (m) => named(addr(m[2])) },
      { title: "To", get: (m) => addr(m[3]), show: (m) => named(addr(m[3])) },
      { title: "Via", get: (m) => m[4] },
      { title: "Message", get: (m) => m[5], show: (m) => m[7] ? [m[5], " ", badge("retransmission", "warn")] : m[5] },
      { title: "Facts", get: (m) => m[6] },
    ].concat(merged ? [{ title: "Seen by", get: (m) => m[10] }] : []), { cls: "messages" });
  }

  // -- server-log diagnostics ------------------------------------------------------------------
  function severityBadge(sev) {
    return badge(sev || "-", sev === "fatal" || sev === "error" ? "bad" : sev === "warning" ? "warn" : "muted");
  }
  function diagnosticTable(rows, withSession) {
    return table(rows, [
      { title: "Time", get: (d) => d.time, show: (d) => utc(d.time) },
      { title: "Severity", get: (d) => d.severity, show: (d) => severityBadge(d.severity) },
      { title: "Result", get: (d) => [d.result_code, d.result_name].filter(Boolean).join(" ") },
      { title: "Host", get: (d) => d.host, show: (d) => named(d.host) },
      { title: "Text", get: (d) => d.text },
      { title: "Meaning", get: (d) => d.meaning },
    ].concat(withSession ? [
      { title: "Session", get: (d) => d.session === null ? "" : D.sessions[d.session].call_id, show: (d) => d.session === null ? (d.call_id ? d.call_id + " (not in the input)" : "alone") : link("#session/" + d.session, D.sessions[d.session].call_id) },
    ] : []).concat([
      { title: "About", get: (d) => [d.about, d.peer ? "peer " + d.peer : null].concat(Object.keys(d.data).map((k) => d.data[k] ? k + "=" + d.data[k] : k)).filter(Boolean).join("; ") },
      { title: "Log record", get: (d) => d.number, show: (d) => d.number + " " + (d.source || "").split(/[\\/]/).pop() },
    ]), { cls: "diagnostics", sort: 0 });
  }
  function diagnosticsView() {
    const rows = D.diagnostics.filter((d) => matches(d._search));
    return section("Server-log diagnostics", D.diagnostics.length ? diagnosticTable(rows, true) : h("p", { cls: "muted", text: "No diagnostic record: no Lync server log among the inputs, or none in it." }));
  }
  function sessionDiagnostics(x) {
    const rows = (x.diags || []).map((i) => D.diagnostics[i]);
    if (!rows.length) return null;
    return section("Server-log diagnostics (" + rows.length + ")", diagnosticTable(rows, false));
  }

  // -- charts ----------------------------------------------------------------------------------
  const observer = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    entries.forEach((en) => { if (en.isIntersecting) { observer.unobserve(en.target); en.target._draw(); } });
  }, { rootMargin: "200px" }) : null;
  function chart(st) {
    const box = h("div", { cls: "chart", "data-stream": st.id, "data-points": st.series.buckets.length });
    box._draw = () => {
      const b = st.series.buckets;
      const xs = b.map((r) => r[0]);
      const data = [xs, b.map((r) => r[3]), b.map((r) => r[4]), b.map((r) => r[5]), b.map((r) => r[2])];
      const opts = {
        width: Math.max(320, Math.min(900, view.clientWidth - 80)), height: 220,
        title: "SSRC " + st.ssrc_hex + ": per " + st.series.interval + " s",
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
        scales: { x: { time: true }, ms: { auto: true }, pk: { auto: true, range: (u, mn, mx) => [0, Math.max(1, mx)] } },
        series: [
          { label: "time (UTC)" },
          { label: "max jitter ms", scale: "ms", stroke: "#c0392b", width: 1.5, points: { show: b.length < 60 } },
          { label: "mean jitter ms", scale: "ms", stroke: "#e67e22", width: 1.5, points: { show: b.length < 60 } },
          { label: "max delta ms", scale: "ms", stroke: "#2471a3", width: 1.5, points: { show: b.length < 60 } },
          { label: "lost pkts", scale: "pk", stroke: "#7d3c98", fill: "rgba(125,60,152,0.25)", paths: uPlot.paths.bars({ size: [0.6, 40] }) },
        ],
        axes: [{}, { scale: "ms", label: "ms" }, { scale: "pk", side: 1, label: "lost", grid: { show: false } }],
      };
      const plot = new uPlot(opts, data, box);
      charts.push({ stream: st.id, points: xs.length, plot: plot });
      box.setAttribute("data-drawn", "1");
    };
    if (observer) observer.observe(box); else setTimeout(box._draw, 0);
    return box;
  }
  function streamCard(st) {
    const rtcp = st.rtcp_reports ? [
      "RTCP: " + st.rtcp_reports + " reports",
      st.rtcp_fraction_lost !== null ? ", loss " + (st.rtcp_fraction_lost * 100).toFixed(1) + "%" : "",
      st.rtcp_cumulative_lost !== null ? " (" + st.rtcp_cumulative_lost + " cumulative)" : "",
      st.rtcp_jitter_ms !== null ? ", jitter " + st.rtcp_jitter_ms.toFixed(1) + " ms" : "",
      st.rtcp_rtt_ms !== null ? ", RTT " + st.rtcp_rtt_ms.toFixed(1) + " ms" : ", RTT not measured",
    ].join("") : "RTCP: no report about this stream";
    return h("div", { cls: "stream-card", id: "stream-" + st.id },
      h("h3", null, link("#stream/" + st.id, named(st.src) + " → " + named(st.dst)), " ", badge(st.payload || "?"), " ", badge(st.ssrc_hex, "muted")),
      h("div", { cls: "stream-body" },
        chart(st),
        h("div", { cls: "stream-facts" }, kv([
          ["packets", num(st.packets) + " (expected " + num(st.expected) + ")"],
          ["lost", num(st.lost) + " (" + st.lost_percent.toFixed(2) + "%)"],
          ["jitter", st.mean_jitter_ms === -1 || st.mean_jitter_ms === null ? "-" : "mean " + num(st.mean_jitter_ms, 2) + " / max " + num(st.max_jitter_ms, 2) + " ms"],
          ["delta", st.max_delta_ms === -1 ? "-" : "mean " + num(st.mean_delta_ms, 2) + " / max " + num(st.max_delta_ms, 2) + " ms"],
          ["MOS", st.mos === null ? "-" : st.mos.toFixed(2)],
          ["duration", secs(st.duration)],
          ["RTCP", rtcp],
          ["SRTP", st.encrypted ? st.srtp_decrypted + " authenticated, " + st.srtp_auth_failures + " failed" : "not encrypted"],
          ["DTMF", st.dtmf],
          ["relayed", relayFacts(st.relay)],
        ]))));
  }

  // -- views -----------------------------------------------------------------------------------
  const TABS = [
    ["overview", "Overview", () => null],
    ["calls", "Calls", () => D.calls.filter((c) => matches(c._search)).length],
    ["streams", "Streams", () => D.streams.filter((x) => matches(x._search)).length],
    ["signins", "Sign-ins", () => D.sessions.filter((x) => x.tab === "signins" && matches(x._search)).length],
    ["im", "IM", () => D.sessions.filter((x) => x.tab === "im" && matches(x._search)).length],
    ["presence", "Presence", () => D.sessions.filter((x) => x.tab === "presence" && matches(x._search)).length],
    ["other", "Other sessions", () => D.sessions.filter((x) => x.tab === "other" && matches(x._search)).length],
    ["diagnostics", "Diagnostics", () => D.diagnostics.filter((x) => matches(x._search)).length],
    ["defects", "Defects", () => D.defects.filter((x) => matches(x._search)).length],
  ];
  function drawTabs(current) {
    const nav = document.getElementById("tabs");
    nav.textContent = "";
    TABS.forEach(([id, title, count]) => {
      if (id === "diagnostics" && !D.diagnostics.length) return; // no server log: no tab
      const n = count();
      nav.appendChild(h("a", { href: "#" + id, cls: id === current ? "tab active" : "tab", id: "tab-" + id },
        title, n === null ? null : h("span", { cls: "n", text: n })));
    });
  }

  function overview() {
    const o = D.overview;
    const parts = [];
    parts.push(section("Capture",
      table(D.inputs, [
        { title: "Input", get: (x) => x.name },
        { title: "Format", get: (x) => x.format },
        { title: "First", get: (x) => x.first_time, show: (x) => utc(x.first_time, true) },
        { title: "Last", get: (x) => x.last_time, show: (x) => utc(x.last_time, true) },
        { title: "Frames / records", get: (x) => x.frames, num: true, show: (x) => num(x.frames) },
        { title: "Size", get: (x) => x.bytes, num: true, show: (x) => bytes(x.bytes) },
        { title: "SIP messages", get: (x) => x.sip_messages, num: true },
        { title: "Error", get: (x) => x.error },
      ]),
      kv([
        ["span", o.first_time !== null ? utc(o.first_time, true) + " to " + utc(o.last_time, true) + " (" + secs(o.last_time - o.first_time) + ")" : "-"],
        ["redacted", D.redacted ? "yes: IM text, credentials, tokens and keys removed" : null],
      ])));
    const counts = [
      ["SIP messages", num(o.sip_messages)], ["retransmissions", num(o.retransmissions)],
      ["calls", num(D.calls.length)], ["RTP streams", num(D.streams.length)],
      ["TCP connections", num(o.connections_total)], ["defects", num(o.defects_total)],
    ];
    const skipped = Object.values(o.frames_not_decoded || {}).reduce((a, b) => a + b, 0);
    if (skipped) counts.push(["frames not decoded", num(skipped)]);
    Object.keys(o.kinds).forEach((k) => counts.push(["sessions: " + k, num(o.kinds[k])]));
    parts.push(section("Counts", h("div", { cls: "tiles" }, counts.map(([k, v]) => h("div", { cls: "tile" }, h("div", { cls: "v", text: v }), h("div", { cls: "k", text: k }))))));
    const dist = (title, obj) => Object.keys(obj).length ? h("div", null, h("h3", { text: title }), h("p", { cls: "dist" }, Object.keys(obj).map((k) => badge(k + " " + obj[k])))) : null;
    parts.push(section("SIP", dist("Requests", o.methods), dist("Responses", o.statuses), dist("Transports", o.transports)));
    if (o.connections.length) {
      parts.push(section("TCP and TLS connections", table(o.connections, [
        { title: "#", get: (c) => c.id, num: true },
        { title: "Client", get: (c) => c.client, show: (c) => named(c.client) },
        { title: "Server", get: (c) => c.server, show: (c) => named(c.server) },
        { title: "Protocol", get: (c) => c.protocol + (c.compressed ? " (MS-SIPCOMP)" : "") },
        { title: "SIP msgs", get: (c) => c.sip_messages, num: true },
        { title: "TLS", get: (c) => c.tls ? [c.tls.version, c.tls.cipher_suite, c.tls.sni ? "SNI " + c.tls.sni : null].filter(Boolean).join(", ") : "" },
        { title: "Decrypted / what would open it", get: (c) => !c.tls ? "" : c.tls.decrypted ? "decrypted with " + (c.tls.key_source || "keys given") : "no: " + (c.tls.note ? c.tls.note + "; " : "") + (c.tls.needs || "session keys") },
      ])));
    }
    if (D.diagnostics.length) {
      const dg = o.diagnostics;
      const alone = D.diagnostics.filter((d) => d.session === null);
      parts.push(section("Server-log diagnostics",
        h("p", { cls: "dist" }, Object.keys(dg.by_severity).map((k) => severityBadge(k + " " + dg.by_severity[k])), " ",
          dg.total - dg.standalone + " joined to their sessions, " + dg.standalone + " alone ", link("#diagnostics", "list")),
        Object.keys(dg.by_result).length ? h("p", { cls: "dist" }, Object.keys(dg.by_result).map((k) => badge(k + " ×" + dg.by_result[k]))) : null,
        alone.length ? h("h3", { text: "Not about a session in the inputs" }) : null,
        alone.length ? diagnosticTable(alone, true) : null));
    }
    const layers = Object.keys(o.defects_by_layer);
    parts.push(section("Defects by layer", layers.length ? h("p", { cls: "dist" }, layers.map((k) => badge(k + " " + o.defects_by_layer[k], "warn")), " ", link("#defects", "list")) : h("p", { cls: "muted", text: "No defect: every byte followed its protocol." })));
    parts.push(section("Not decoded", o.not_decoded.length ? h("ul", null, o.not_decoded.map((t) => h("li", { text: t }))) : h("p", { cls: "muted", text: "Everything seen was decoded." })));
    return parts;
  }

  const callColumns = [
    { title: "Caller", get: (c) => c.caller },
    { title: "Callee", get: (c) => c.callee },
    { title: "State", get: (c) => c.state, show: (c) => [badge(c.state, stateClass(c.state)), c.end_reason ? " " + c.end_reason : ""] },
    { title: "Start", get: (c) => c.start, show: (c) => utc(c.start) },
    { title: "Duration", get: (c) => c.duration, num: true, show: (c) => secs(c.duration) },
    { title: "Codecs", get: (c) => c.codecs },
    { title: "Path", get: (c) => callPath(c) },
    { title: "Worst MOS", get: (c) => c.mos, num: true, show: (c) => c.mos === null ? "-" : c.mos.toFixed(2) },
    { title: "Loss %", get: (c) => c.loss, num: true, show: (c) => c.loss === null ? "-" : c.loss.toFixed(2) },
    { title: "Jitter ms", get: (c) => c.jitter, num: true, show: (c) => c.jitter === null ? "-" : c.jitter.toFixed(1) },
    { title: "Findings", get: (c) => c.findings.join("; "), show: (c) => c.findings.map((f) => badge(f, "bad")) },
  ];
  function stateClass(st) {
    return st === "completed" || st === "in call" ? "good" : st === "rejected" ? "bad" : "warn";
  }
  function callsView() {
    const rows = D.calls.filter((c) => matches(c._search));
    return section("Calls", D.calls.length ? table(rows, callColumns, { href: (c) => "#call/" + c.id, sort: 3, cls: "calls" }) : h("p", { cls: "muted", text: "No call (INVITE dialog) in this capture." }));
  }
  function streamsView() {
    const rows = D.streams.filter((x) => matches(x._search));
    return section("RTP streams", table(rows, [
      { title: "Source", get: (x) => x.src, show: (x) => named(x.src) },
      { title: "Destination", get: (x) => x.dst, show: (x) => named(x.dst) },
      { title: "SSRC", get: (x) => x.ssrc_hex },
      { title: "Payload", get: (x) => x.payload },
      { title: "Start", get: (x) => x.first_time, show: (x) => utc(x.first_time) },
      { title: "Packets", get: (x) => x.packets, num: true, show: (x) => num(x.packets) },
      { title: "Lost %", get: (x) => x.lost_percent, num: true, show: (x) => x.lost_percent.toFixed(2) },
      { title: "Max jitter ms", get: (x) => x.max_jitter_ms, num: true },
      { title: "MOS", get: (x) => x.mos, num: true },
      { title: "Path", get: (x) => streamPath(x) },
      { title: "Call", get: (x) => x.call, show: (x) => x.call === null ? (x.call_id ? "(not a call)" : "no signalling") : link("#call/" + x.call, D.calls[x.call].call_id) },
    ], { href: (x) => "#stream/" + x.id, sort: 4, cls: "streams" }));
  }
  function sessionsView(tab, title, extraCols) {
    const rows = D.sessions.filter((x) => x.tab === tab && matches(x._search));
    const cols = [
      { title: "Kind", get: (x) => x.kind },
      { title: "From", get: (x) => x.from },
      { title: "To", get: (x) => x.to },
      { title: "Start", get: (x) => x.start, show: (x) => utc(x.start) },
      { title: "Messages", get: (x) => x.msgs.length, num: true },
    ].concat(extraCols || []).concat([
      { title: "Outcome", get: (x) => x.outcome },
      { title: "Call-ID", get: (x) => x.call_id + (x.part > 1 ? " (part " + x.part + ")" : "") },
    ]);
    return section(title, rows.length || !query.length ? table(rows, cols, { href: (x) => "#session/" + x.id, sort: 3, cls: "sessions" }) : h("p", { cls: "muted", text: "Nothing matches the search." }));
  }
  const signinCols = [
    { title: "Sign-in", get: (x) => x.registration ? x.registration.outcome : "", show: (x) => x.registration ? badge(x.registration.outcome, x.registration.outcome === "registered" ? "good" : x.registration.outcome === "failed" ? "bad" : "warn") : "-" },
    { title: "Scheme", get: (x) => x.registration ? x.registration.scheme_chosen || (x.registration.schemes_offered || []).join(", ") : "" },
    { title: "Round trips", get: (x) => x.registration ? x.registration.round_trips.length : null, num: true },
    { title: "Cause", get: (x) => x.registration ? x.registration.failure : "" },
  ];
  const imCols = [
    { title: "IMs", get: (x) => x.conversation ? x.conversation.messages : null, num: true },
  ];
  const presenceCols = [{ title: "Event", get: (x) => x.event }];

  function defectsView() {
    const rows = D.defects.filter((d) => matches(d._search));
    return section("Defects", D.defects.length ? table(rows, [
      { title: "Frame", get: (d) => d[0], num: true },
      { title: "Layer", get: (d) => d[1] },
      { title: "Offset", get: (d) => d[2], num: true },
      { title: "Reason", get: (d) => d[3] },
      { title: "Input", get: (d) => D.inputs[d[4]] ? D.inputs[d[4]].name : "" },
    ], { cls: "defects" }) : h("p", { cls: "muted", text: "No defect." }),
    D.overview.defects_total > D.defects.length ? h("p", { cls: "muted", text: (D.overview.defects_total - D.defects.length) + " more were counted but not kept." }) : null);
  }

  function callView(c) {
    const sess = c.session !== null ? D.sessions[c.session] : null;
    const parts = [];
    parts.push(h("p", null, link("#calls", "← Calls")));
    parts.push(section((c.kind === "conference" ? "Conference leg " : "Call ") + (c.caller || "?") + " → " + (c.callee || "?"),
      kv([
        ["Call-ID", c.call_id],
        ["state", [badge(c.state, stateClass(c.state)), c.end_reason ? " " + c.end_reason : ""]],
        ["conference", c.conference_role ? "leg to the " + c.conference_role : null],
        ["start", utc(c.start, true)],
        ["answered", c.answer_time !== null ? "+" + (c.answer_time - c.start).toFixed(3) + " s" : null],
        ["duration", secs(c.duration)],
        ["modalities", c.modalities.join(", ")],
        ["codecs", c.codecs],
        ["path", callPath(c) + (c.ice_version ? " (ICE v" + c.ice_version + ")" : "")],
        ["worst MOS", c.mos === null ? null : c.mos.toFixed(2)],
        ["findings", c.findings.length ? c.findings.map((f) => badge(f, "bad")) : "none"],
      ])));
    const events = (sess ? messageEvents(sess) : []).concat(c.events.map((e) => ({
      frame: e[0], t: e[1], src: addr(e[2]), dst: addr(e[3]), kind: e[4], label: e[5], facts: "", retrans: 0,
    })));
    if (sess) parts.push(sessionDiagnostics(sess));
    parts.push(section("Ladder: signalling, ICE, TURN and media on one time axis",
      h("p", { cls: "legend" }, badge("SIP", "sip"), " ", badge("ICE check", "ice"), " ", badge("TURN", "turn"), " ", badge("media start / stop", "media"), " ", sess && sess.diags.length ? [badge("◆ server-log diagnostic", "warn"), " "] : null, h("span", { cls: "muted", text: "Hover an arrow for the whole line and its facts." })),
      ladder(events, { title: "Call " + c.call_id, t0: c.start })));
    if (c.exchanges.length) {
      parts.push(section("Offer / answer", c.exchanges.map((e, i) => h("div", { cls: "exchange" },
        h("h3", { text: (i + 1) + ". " + e.kind + " offer #" + e.offer_frame + (e.answer_frame !== null ? ", answer #" + e.answer_frame + (e.early ? " (early)" : "") : "") + ": " + e.state + (e.rejected ? " (" + e.rejected + ")" : "") }),
        e.offer_parts.length > 1 ? h("p", null, "The offer carried " + e.offer_parts.length + " SDP parts: ",
          e.offer_parts.map((p, j) => badge((j + 1) + ": " + (p.ice_version ? "ICE v" + p.ice_version : "no ICE") + (p.fallback ? ", ms-proxy-2007fallback" : "") + (e.chosen_part === j ? " ✓ chosen" : ""), e.chosen_part === j ? "good" : "muted"))) : null,
        mediaTable(e.media)))));
    }
    c.ice.forEach((ice) => {
      parts.push(section("ICE " + (ice.ufrags.length ? ice.ufrags.join(" / ") : "(by address)") + ": " + (ice.path ? "nominated pair " + ice.path : "no pair nominated"),
        table(ice.pairs, [
          { title: "Local", get: (p) => p.local, show: (p) => named(p.local) },
          { title: "Remote", get: (p) => p.remote, show: (p) => named(p.remote) },
          { title: "Transport", get: (p) => p.transport + (p.via_turn ? " via TURN" : "") },
          { title: "Types", get: (p) => p.local_type + " → " + p.remote_type },
          { title: "State", get: (p) => p.state, show: (p) => badge(p.state, p.state === "succeeded" ? "good" : p.state === "failed" ? "bad" : "warn") },
          { title: "Checks", get: (p) => p.checks, num: true },
          { title: "RTT ms", get: (p) => p.rtt_ms, num: true },
          { title: "Role", get: (p) => p.role },
          { title: "Nominated", get: (p) => p.nominated ? 2 : p.use_candidate ? 1 : 0, show: (p) => p.nominated ? badge("nominated", "good") : p.use_candidate ? "USE-CANDIDATE" : "" },
          { title: "Errors", get: (p) => p.errors.join(", ") },
        ], { cls: "ice-pairs" })));
    });
    if (c.allocations.length) {
      parts.push(section("TURN allocations (Edge)", table(c.allocations, [
        { title: "#", get: (a) => a.id, num: true },
        { title: "Client", get: (a) => a.client, show: (a) => named(a.client) },
        { title: "Server", get: (a) => a.server, show: (a) => named(a.server) },
        { title: "Transport", get: (a) => a.transport + " " + a.flavor },
        { title: "Relayed", get: (a) => a.relayed.join(", ") },
        { title: "State", get: (a) => a.state },
        { title: "Active destination", get: (a) => a.active_destination },
        { title: "Permissions", get: (a) => a.permissions.join(", ") },
        { title: "Errors", get: (a) => a.errors.join(", ") },
      ])));
    }
    const streams = c.streams.map((i) => D.streams[i]);
    const relayed = streams.filter((st) => st.relay);
    if (relayed.length) {
      parts.push(section("Relayed media (" + relayed.length + " of " + streams.length + " streams inside TURN)", table(relayed, [
        { title: "Stream", get: (st) => st.ssrc_hex, show: (st) => link("#stream/" + st.id, st.ssrc_hex + " " + (st.payload || "")) },
        { title: "Media (inner)", get: (st) => st.src + " → " + st.dst, show: (st) => named(st.src) + " → " + named(st.dst) },
        { title: "Relay", get: (st) => st.relay.server, show: (st) => named(st.relay.server || "?") },
        { title: "Relayed address", get: (st) => st.relay.relayed },
        { title: "Carried", get: (st) => st.relay.transport + " " + st.relay.via.join(", ") },
        { title: "Outer source", get: (st) => st.relay.outer_src, show: (st) => named(st.relay.outer_src) },
        { title: "Outer destination", get: (st) => st.relay.outer_dst, show: (st) => named(st.relay.outer_dst) },
        { title: "Allocation", get: (st) => st.relay.allocation, num: true },
        { title: "Channel", get: (st) => st.relay.channel },
      ], { cls: "relayed" })));
    }
    parts.push(section("Media streams over time (" + streams.length + ")",
      streams.length ? h("p", { cls: "muted", text: "Per-interval buckets: max and mean jitter and the largest inter-arrival delta (ms, left axis), packets lost (bars, right axis). RTCP-reported loss, jitter and RTT beside each chart." }) : h("p", { cls: "muted", text: "No RTP stream was joined to this call." }),
      streams.map(streamCard)));
    if (sess) parts.push(section("SIP messages", messageTable(sess)));
    return parts;
  }
  function mediaTable(media) {
    return table(media, [
      { title: "m-line", get: (m) => m.index, num: true },
      { title: "Media", get: (m) => m.media + (m.label ? " (" + m.label + ")" : "") },
      { title: "Offer address", get: (m) => m.offer_address, show: (m) => named(m.offer_address || "-") },
      { title: "Answer address", get: (m) => m.answer_address, show: (m) => m.answer_address ? named(m.answer_address) : "-" },
      { title: "Codecs (answer)", get: (m) => (m.codecs.length ? m.codecs : m.offered_codecs).join(", ") },
      { title: "Proto", get: (m) => m.proto + (m.crypto_suite ? " " + m.crypto_suite : "") },
      { title: "State", get: (m) => m.state + (m.direction !== "sendrecv" ? ", " + m.direction : "") },
      { title: "Candidates", get: (m) => m.offer_candidates + " / " + m.answer_candidates },
    ], { cls: "media" });
  }

  function sessionView(x) {
    const parts = [h("p", null, link("#" + x.tab, "← back"))];
    parts.push(section(x.kind + " session " + (x.from || "?") + " → " + (x.to || "?"), kv([
      ["Call-ID", x.call_id + (x.part > 1 ? " (part " + x.part + ")" : "")],
      ["start", utc(x.start, true)],
      ["duration", secs(x.duration)],
      ["outcome", x.outcome],
      ["participants", x.participants.join(", ")],
      ["retransmissions", x.retransmissions || null],
      ["input", D.inputs.length > 1 && D.inputs[x.input] ? D.inputs[x.input].name : null],
      ["call", D.calls.filter((c) => c.session === x.id).map((c) => link("#call/" + c.id, "open the call view"))],
    ])));
    const r = x.registration;
    if (r) {
      parts.push(section("Sign-in", kv([
        ["outcome", badge(r.outcome, r.outcome === "registered" ? "good" : r.outcome === "failed" ? "bad" : "warn")],
        ["user", r.user], ["scheme", r.scheme_chosen], ["offered", (r.schemes_offered || []).join(", ")],
        ["identity", r.identity], ["Kerberos service", r.service], ["workstation", r.workstation],
        ["remote user", r.remote === null ? null : r.remote ? "yes, via Edge" : "no, internal"],
        ["epid", r.epid], ["GRUU", r.gruu], ["expires", r.expires === null ? null : r.expires + " s"],
        ["server", r.server], ["client", r.user_agent], ["signatures", r.signatures],
        ["cause", r.failure], ["then", (r.follow_ups || []).join("; ")],
      ]), table(r.round_trips, [
        { title: "CSeq", get: (t) => t.cseq, num: true },
        { title: "Frame", get: (t) => t.frame, num: true },
        { title: "Sent", get: (t) => t.sent },
        { title: "Answer", get: (t) => t.answer },
      ])));
    }
    const cv = x.conversation;
    if (cv) {
      parts.push(section("Conversation", kv([
        ["participants", cv.participants.join(", ")], ["messages", cv.messages],
        ["conversation id", cv.conversation_id], ["started", cv.conversation_started],
        ["endpoints", cv.endpoints.join(", ")], ["roster manager", cv.roster_manager],
      ]), table(cv.events, [
        { title: "Time", get: (e) => e.time, show: (e) => e.time === null ? "-" : "+" + (e.time - x.start).toFixed(3) + "s" },
        { title: "Frame", get: (e) => e.frame, num: true },
        { title: "Sender", get: (e) => e.sender },
        { title: "What", get: (e) => e.kind },
        { title: "Text", get: (e) => e.kind === "message" ? (e.text === null ? "(text redacted)" : e.text) : e.text },
        { title: "Status", get: (e) => e.status },
      ], { cls: "im" })));
    }
    parts.push(sessionDiagnostics(x));
    parts.push(section("Ladder", ladder(messageEvents(x), { title: x.kind + " " + x.call_id, t0: x.start })));
    parts.push(section("Messages", messageTable(x)));
    return parts;
  }
  function streamView(st) {
    const parts = [h("p", null, link(st.call !== null ? "#call/" + st.call : "#streams", st.call !== null ? "← the call" : "← Streams"))];
    parts.push(section("RTP stream " + st.ssrc_hex, streamCard(st), kv([
      ["first / last frame", "#" + st.first_frame + " / #" + st.last_frame],
      ["start", utc(st.first_time, true)],
      ["clock rate", st.clock_rate], ["bitrate", st.bitrate_kbps + " kbit/s"],
      ["sequence errors", st.sequence_errors + " (" + st.duplicates + " duplicates, " + st.out_of_order + " out of order)"],
      ["signalled", st.signalled ? "yes (SDP / TURN / ICE)" : "no: found by the RTP heuristic"],
      ["RTCP BYE", st.bye ? "yes" : null],
      ["path", streamPath(st)],
    ])));
    return parts;
  }

  // -- routing ---------------------------------------------------------------------------------
  function route() {
    const hash = decodeURIComponent(location.hash.replace(/^#/, "")) || "overview";
    const [name, arg] = hash.split("/");
    let content;
    let tab = name;
    if (name === "call" && D.calls[+arg]) { content = callView(D.calls[+arg]); tab = "calls"; }
    else if (name === "session" && D.sessions[+arg]) { const x = D.sessions[+arg]; content = sessionView(x); tab = x.tab; }
    else if (name === "stream" && D.streams[+arg]) { content = streamView(D.streams[+arg]); tab = "streams"; }
    else if (name === "calls") content = callsView();
    else if (name === "streams") content = streamsView();
    else if (name === "signins") content = sessionsView("signins", "Sign-ins", signinCols);
    else if (name === "im") content = sessionsView("im", "IM conversations", imCols);
    else if (name === "presence") content = sessionsView("presence", "Presence and subscriptions", presenceCols);
    else if (name === "other") content = sessionsView("other", "Other sessions (OPTIONS, NEGOTIATE, service, ...)");
    else if (name === "diagnostics") content = diagnosticsView();
    else if (name === "defects") content = defectsView();
    else { content = overview(); tab = "overview"; }
    charts.length = 0;
    view.textContent = "";
    add(view, content);
    view.setAttribute("data-view", name || "overview");
    drawTabs(tab);
    document.body.setAttribute("data-ready", "1");
  }
  let timer = null;
  searchBox.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      query = parseQuery(searchBox.value);
      route();
      document.body.setAttribute("data-query", searchBox.value); // the search now applied
    }, 120);
  });
  window.addEventListener("hashchange", () => { route(); window.scrollTo(0, 0); });
  window.lyncdumpReport.route = route;
  route();
})();
