// TrialMark annotation page. Plain JavaScript, no build step. Reads the page's JSON (#editor-data), draws
// the criterion with its mentions (coloured underlines in lanes, dashed for model suggestions) and its
// relations (labelled arcs above the text) in two SVG layers around the text, and writes through the REST
// API: the draft autosaves with its `version`; a 409 opens a dialog that shows what changed and keeps the
// user's work. Offsets are Unicode code points, as on the server.
(function () {
  "use strict";
  var L = window.TMLayout;
  var dataEl = document.getElementById("editor-data");
  if (!dataEl || !L) return;
  var data = JSON.parse(dataEl.textContent);
  var $ = function (id) { return document.getElementById(id); };
  var root = $("editor");
  var wrap = $("ed-text-wrap");
  var textEl = $("ed-text");
  var under = $("ed-under");
  var over = $("ed-over");
  var RO = !!data.read_only;
  var SVGNS = "http://www.w3.org/2000/svg";

  var LANE_H = 15;      // px per underline lane (bar + its label)
  var ARC_H = 16;       // px per arc level
  var text = data.sentence.text;
  var tokens = L.tokenize(text);
  var words = [];       // indices into tokens of non-space tokens (the keyboard caret moves over these)
  tokens.forEach(function (t, i) { if (t.kind !== "ws") words.push(i); });

  var types = {};
  var hotkeys = {};
  data.schema.entity_types.forEach(function (t) {
    types[t.name] = t;
    if (t.hotkey) hotkeys[t.hotkey.toLowerCase()] = t.name;
  });
  var relTypes = data.schema.relation_types;

  // ---- state -------------------------------------------------------------------------------------------
  function copy(x) { return JSON.parse(JSON.stringify(x)); }
  function fromServer(a) {
    return {
      mentions: (a && a.mentions || []).map(function (m) { return { id: String(m.id), type: m.type, fragments: m.fragments }; }),
      relations: (a && a.relations || []).map(function (r) { return { type: r.type, head: String(r.head), tail: String(r.tail) }; }),
      groups: (a && a.groups || []).map(function (g) { return { type: g.type, members: g.members.map(String) }; }),
    };
  }
  var state = fromServer(data.annotation);
  var base = data.annotation ? copy(data.annotation) : { mentions: [], relations: [] };  // last known server state
  var version = data.annotation ? data.annotation.version : 0;
  var annStatus = data.annotation ? data.annotation.status : "draft";
  var nextId = 1;
  function bumpIds(st) {
    st.mentions.forEach(function (m) { var n = parseInt(m.id, 10); if (n >= nextId) nextId = n + 1; });
  }
  bumpIds(state);
  function newId() { return String(nextId++); }

  var sugg = data.suggestions || { mentions: [], relations: [] };
  var decisions = { mention: {}, relation: {} };
  ["mention", "relation"].forEach(function (k) {
    var d = (sugg.decisions || {})[k] || {};
    Object.keys(d).forEach(function (i) { decisions[k][i] = d[i]; });
  });

  var undoStack = [];
  var redoStack = [];
  var sel = null;        // {kind: "mention", id} | {kind: "relation", index} | {kind: "sm"|"sr", index}
  var pending = null;    // [start, end) selected text, not yet a mention
  var caret = null;      // index into words
  var anchor = null;
  var relMode = null;    // {head: id, stage: "tail"|"type", tail: id}
  var clickCycle = null; // {token, n}: repeated clicks on one word walk outwards through its mentions
  var hits = [];         // clickable boxes in wrap coordinates: {x, y, w, h, item}
  var renderTimes = [];
  var keyboardMode = false; // the word caret is drawn once the arrows are used

  // ---- helpers -----------------------------------------------------------------------------------------
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function slice(s, e) { return Array.from(text).slice(s, e).join(""); }
  var cps = Array.from(text);
  function mtext(frags) { return frags.map(function (f) { return cps.slice(f[0], f[1]).join(""); }).join(" … "); }
  function colour(type) { return (types[type] || {}).colour || "#888888"; }
  function darken(hex, f) {
    var n = parseInt(hex.slice(1), 16);
    var r = (n >> 16) & 255, g = (n >> 8) & 255, b = n & 255;
    return "rgb(" + Math.round(r * (1 - f)) + "," + Math.round(g * (1 - f)) + "," + Math.round(b * (1 - f)) + ")";
  }
  function mentionById(id) {
    for (var i = 0; i < state.mentions.length; i++) if (state.mentions[i].id === id) return state.mentions[i];
    return null;
  }
  function sameFrags(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i][0] !== b[i][0] || a[i][1] !== b[i][1]) return false;
    return true;
  }
  function findMention(type, frags) {
    for (var i = 0; i < state.mentions.length; i++) {
      var m = state.mentions[i];
      if (m.type === type && sameFrags(m.fragments, frags)) return m;
    }
    return null;
  }
  function allowedRelTypes(headType, tailType) {
    return relTypes.filter(function (rt) {
      return (!rt.heads.length || rt.heads.indexOf(headType) >= 0) && (!rt.tails.length || rt.tails.indexOf(tailType) >= 0);
    });
  }
  function relTypeByName(name) { return relTypes.filter(function (r) { return r.name === name; })[0]; }
  function relExists(type, head, tail) {
    var rt = relTypeByName(type);
    return state.relations.some(function (r) {
      return r.type === type && ((r.head === head && r.tail === tail) || (rt && rt.symmetric && r.head === tail && r.tail === head));
    });
  }
  function sortedMentions() {
    return state.mentions.slice().sort(function (a, b) {
      return a.fragments[0][0] - b.fragments[0][0] || b.fragments[b.fragments.length - 1][1] - a.fragments[a.fragments.length - 1][1];
    });
  }

  // Suggestions still waiting for a decision: not rejected, not already in the annotation, of a known type.
  function pendingSuggMentions() {
    var out = [];
    (sugg.mentions || []).forEach(function (m, i) {
      if (decisions.mention[i] === "rejected" || !types[m.type] || findMention(m.type, m.fragments)) return;
      out.push(i);
    });
    return out;
  }
  function endpointOf(i) { var m = sugg.mentions[i]; return m ? findMention(m.type, m.fragments) : null; }
  function pendingSuggRelations(pm) {
    var out = [];
    (sugg.relations || []).forEach(function (r, i) {
      if (decisions.relation[i] === "rejected") return;
      var h = sugg.mentions[r.head], t = sugg.mentions[r.tail];
      if (!h || !t) return;
      var he = endpointOf(r.head), te = endpointOf(r.tail);
      if ((!he && pm.indexOf(r.head) < 0) || (!te && pm.indexOf(r.tail) < 0)) return;
      if (he && te && relExists(r.type, he.id, te.id)) return;
      out.push(i);
    });
    return out;
  }

  // ---- text and geometry -------------------------------------------------------------------------------
  function buildText() {
    var html = [];
    tokens.forEach(function (t, i) {
      html.push('<span class="' + (t.kind === "ws" ? "ws" : "tok") + '" data-t="' + i + '">' + esc(t.text) + "</span>");
    });
    textEl.innerHTML = html.join("");
  }

  var wrapBox = null;
  function tokenRects(ti, s, e) {
    var tok = tokens[ti];
    var node = textEl.childNodes[ti].firstChild;
    if (!node) return [];
    var r = document.createRange();
    r.setStart(node, L.cpToUnit(tok.text, s - tok.s));
    r.setEnd(node, L.cpToUnit(tok.text, e - tok.s));
    return Array.prototype.slice.call(r.getClientRects());
  }
  function firstToken(s) {  // binary search: the token holding code point s
    var lo = 0, hi = tokens.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (tokens[mid].s <= s) lo = mid; else hi = mid - 1;
    }
    return lo;
  }
  // Rectangles (one per line) of the text [s, e), in wrap coordinates.
  function spanRects(s, e) {
    var out = [];
    for (var ti = firstToken(s); ti < tokens.length && tokens[ti].s < e; ti++) {
      var tok = tokens[ti];
      var rs = tokenRects(ti, Math.max(s, tok.s), Math.min(e, tok.e));
      for (var k = 0; k < rs.length; k++) {
        var r = rs[k];
        if (r.width === 0 && tok.kind === "ws") continue;
        var box = { x: r.left - wrapBox.left, y: r.top - wrapBox.top, w: r.width, h: r.height };
        var last = out[out.length - 1];
        if (last && Math.abs(last.y - box.y) < 3 && box.x >= last.x - 1) {
          last.w = Math.max(last.w, box.x + box.w - last.x);
        } else {
          out.push(box);
        }
      }
    }
    return out;
  }

  // ---- drawing -----------------------------------------------------------------------------------------
  function svgText(x, y, s, attrs) {
    return "<text x=\"" + x.toFixed(1) + "\" y=\"" + y.toFixed(1) + "\" " + (attrs || "") + ">" + esc(s) + "</text>";
  }
  // Label widths measured on a canvas with the labels' font (cached): a guess per character either wastes
  // room or lets neighbouring labels collide.
  var measureCtx = document.createElement("canvas").getContext("2d");
  var measured = {};
  function textWidth(s, font) {
    var key = font + "|" + s;
    if (!(key in measured)) {
      measureCtx.font = font;
      measured[key] = measureCtx.measureText(s).width;
    }
    return measured[key];
  }
  var LBL_FONT = "600 10px " + getComputedStyle(document.body).fontFamily;
  var ARC_FONT = "600 11px " + getComputedStyle(document.body).fontFamily;
  function fit(label, room, font) {  // the label, cut with an ellipsis to the room it has
    if (textWidth(label, font) <= room) return label;
    for (var n = label.length - 1; n > 1; n--) {
      var cut = label.slice(0, n) + "…";
      if (textWidth(cut, font) <= room) return cut;
    }
    return label.charAt(0);
  }

  function render(skipPanels) {
    var t0 = performance.now();
    var pm = RO ? [] : pendingSuggMentions();
    var pr = RO ? [] : pendingSuggRelations(pm);
    // Items drawn as underlines: mentions and pending mention suggestions, lanes shared.
    var items = state.mentions.map(function (m) {
      return { key: "m" + m.id, fragments: m.fragments, type: m.type, item: { kind: "mention", id: m.id }, label: m.type };
    });
    pm.forEach(function (i) {
      var m = sugg.mentions[i];
      items.push({ key: "s" + i, fragments: m.fragments, type: m.type, sugg: true, item: { kind: "sm", index: i },
        label: m.type + " " + Math.round((m.score || 0) * 100) + "%" });
    });
    var lanes = L.assignLanes(items);
    var nLanes = 0;
    items.forEach(function (it) { nLanes = Math.max(nLanes, lanes[it.key] + 1); });
    // Arcs: relations and pending relation suggestions, anchored at the first fragment of each end.
    var anchorOf = {};
    items.forEach(function (it) { anchorOf[it.key] = it; });
    var arcs = [];
    state.relations.forEach(function (r, i) {
      var h = anchorOf["m" + r.head], t = anchorOf["m" + r.tail];
      if (h && t) arcs.push({ key: "r" + i, h: h, t: t, type: r.type, item: { kind: "relation", index: i } });
    });
    pr.forEach(function (i) {
      var r = sugg.relations[i];
      var he = endpointOf(r.head), te = endpointOf(r.tail);
      var h = he ? anchorOf["m" + he.id] : anchorOf["s" + r.head];
      var t = te ? anchorOf["m" + te.id] : anchorOf["s" + r.tail];
      if (h && t) arcs.push({ key: "q" + i, h: h, t: t, type: r.type + " " + Math.round((r.score || 0) * 100) + "%", sugg: true,
        item: { kind: "sr", index: i } });
    });
    arcs.forEach(function (a) {
      var hs = a.h.fragments[0], ts = a.t.fragments[0];
      a.s = Math.min(hs[0], ts[0]);
      a.e = Math.max(hs[1], ts[1]);
    });
    var levels = L.arcLevels(arcs);
    var nLevels = 0;
    arcs.forEach(function (a) { nLevels = Math.max(nLevels, levels[a.key]); });
    var top = nLevels ? 10 + nLevels * ARC_H : 4;
    var bottom = 6 + nLanes * LANE_H;
    textEl.style.lineHeight = "calc(1.6em + " + (2 * Math.max(top, bottom)) + "px)";

    // -- measure (reads only) --
    wrapBox = wrap.getBoundingClientRect();
    var W = wrap.clientWidth, H = wrap.clientHeight;
    var rects = {};
    items.forEach(function (it) {
      rects[it.key] = it.fragments.map(function (f) { return spanRects(f[0], f[1]); });
    });
    var selKey = sel && (sel.kind === "mention" ? "m" + sel.id : sel.kind === "sm" ? "s" + sel.index : null);
    var u = [], o = [];
    hits = [];

    // -- under layer: selection highlights --
    function shade(s, e, cls) {
      spanRects(s, e).forEach(function (b) {
        u.push('<rect class="' + cls + '" x="' + (b.x - 1) + '" y="' + b.y + '" width="' + (b.w + 2) + '" height="' + b.h + '" rx="3"/>');
      });
    }
    if (selKey && rects[selKey]) {
      var sit = anchorOf[selKey];
      rects[selKey].forEach(function (fr) {
        fr.forEach(function (b) {
          u.push('<rect x="' + (b.x - 1) + '" y="' + b.y + '" width="' + (b.w + 2) + '" height="' + b.h + '" rx="3" fill="' +
            colour(sit.type) + '" fill-opacity=".28"/>');
        });
      });
    }
    if (relMode) {
      var hm = mentionById(relMode.head);
      if (hm) hm.fragments.forEach(function (f) { shade(f[0], f[1], "rel-head"); });
    }
    if (pending) shade(pending[0], pending[1], "pending");
    if (caret !== null && keyboardMode && !RO && document.activeElement === textEl) {
      var ct = tokens[words[caret]];
      spanRects(ct.s, ct.e).forEach(function (b) {
        u.push('<rect class="caret" x="' + (b.x - 2) + '" y="' + (b.y - 1) + '" width="' + (b.w + 4) + '" height="' + (b.h + 2) + '" rx="3"/>');
      });
    }

    // -- over layer: underlines with labels --
    var bars = [];  // {line y, lane, x, w, it, fi}
    items.forEach(function (it) {
      var lane = lanes[it.key];
      rects[it.key].forEach(function (fr, fi) {
        fr.forEach(function (b, bi) {
          bars.push({ y: b.y + b.h + 3 + lane * LANE_H, line: Math.round(b.y), lane: lane, x: b.x, w: b.w, it: it,
            first: fi === 0 && bi === 0 });
        });
      });
    });
    // A label may run past its bar up to the next bar of the same lane on the same line.
    var byRow = {};
    bars.forEach(function (b) { (byRow[b.line + ":" + b.lane] = byRow[b.line + ":" + b.lane] || []).push(b); });
    Object.keys(byRow).forEach(function (k) {
      var row = byRow[k].sort(function (a, b) { return a.x - b.x; });
      row.forEach(function (b, i) { b.room = (i + 1 < row.length ? row[i + 1].x - 3 : W) - b.x; });
    });
    bars.forEach(function (b) {
      var it = b.it;
      var c = colour(it.type), dark = darken(c, 0.28);
      var selected = it.key === selKey;
      var thick = selected ? 5 : 3;
      if (it.sugg) {
        o.push('<line class="bar sugg" x1="' + b.x + '" x2="' + (b.x + b.w) + '" y1="' + (b.y + 1.5) + '" y2="' + (b.y + 1.5) +
          '" stroke="' + dark + '" stroke-width="' + thick + '" stroke-dasharray="5 3"/>');
      } else {
        o.push('<rect class="bar" x="' + b.x + '" y="' + b.y + '" width="' + Math.max(b.w, 2) + '" height="' + thick +
          '" fill="' + dark + '" rx="1"/>');
      }
      var lx = b.x + 1, ly = b.y + thick + 9;
      if (b.first) {
        var font = it.sugg ? "italic " + LBL_FONT : LBL_FONT;
        var room = Math.max(b.room - 2, 8);
        // A cramped suggestion keeps its type and drops its confidence first (the list shows it).
        var label = it.sugg && textWidth(it.label, font) > room ? fit(it.type, room, font) : fit(it.label, room, font);
        o.push(svgText(lx, ly, label, 'class="lbl' + (it.sugg ? " sugg" : "") + (selected ? " sel" : "") + '" fill="' + dark + '"'));
      }
      hits.push({ x: b.x, y: b.y - 2, w: Math.max(b.w, b.first ? Math.min(b.room, textWidth(it.label, LBL_FONT)) : 0, 8), h: LANE_H, item: it.item });
    });
    // Discontinuous mentions: a dotted line joins consecutive fragments in the mention's lane.
    items.forEach(function (it) {
      if (it.fragments.length < 2) return;
      var lane = lanes[it.key], fr = rects[it.key];
      for (var i = 0; i + 1 < fr.length; i++) {
        var a = fr[i][fr[i].length - 1], b = fr[i + 1][0];
        if (!a || !b || Math.abs(a.y - b.y) > 3) continue;
        var y = a.y + a.h + 4.5 + lane * LANE_H;
        o.push('<line class="joint" x1="' + (a.x + a.w) + '" x2="' + b.x + '" y1="' + y + '" y2="' + y + '" stroke="' +
          darken(colour(it.type), 0.28) + '"/>');
      }
    });

    // -- over layer: arcs --
    function anchorPoint(it) {
      var b = rects[it.key][0][0];
      return { x: b.x + Math.min(b.w / 2, 14), y: b.y, w: b.w, line: b };
    }
    arcs.forEach(function (a) {
      if (!rects[a.h.key] || !rects[a.t.key] || !rects[a.h.key][0][0] || !rects[a.t.key][0][0]) return;
      var hp = anchorPoint(a.h), tp = anchorPoint(a.t);
      var lvl = levels[a.key];
      var selected = sel && sel.kind === a.item.kind && sel.index === a.item.index;
      var cls = "arc" + (a.sugg ? " sugg" : "") + (selected ? " sel" : "");
      var sym = (relTypeByName(a.type.split(" ")[0]) || {}).symmetric;
      var marker = sym ? "" : ' marker-end="url(#ed-arrow)"';
      var d, lx, ly;
      var same = Math.abs(hp.y - tp.y) < 3;
      var y1 = hp.y - 6 - lvl * ARC_H;
      if (hp.x === tp.x && same) tp = { x: hp.x + 8, y: tp.y };  // a mention related to itself
      if (same) {
        var dir = tp.x > hp.x ? 1 : -1;
        d = "M" + hp.x + " " + (hp.y - 2) + " L" + hp.x + " " + (y1 + 5) + " Q" + hp.x + " " + y1 + " " + (hp.x + 5 * dir) + " " + y1 +
          " L" + (tp.x - 5 * dir) + " " + y1 + " Q" + tp.x + " " + y1 + " " + tp.x + " " + (y1 + 5) + " L" + tp.x + " " + (tp.y - 3);
        lx = (hp.x + tp.x) / 2;
        ly = y1;
      } else {
        // Head and tail on different lines: leave the head's line towards its edge, enter the tail's from the other.
        var y2 = tp.y - 6 - lvl * ARC_H;
        var down = tp.y > hp.y;
        var ex = down ? W - 2 : 2, sx = down ? 2 : W - 2;
        d = "M" + hp.x + " " + (hp.y - 2) + " L" + hp.x + " " + y1 + " L" + ex + " " + y1 +
          " M" + sx + " " + y2 + " L" + tp.x + " " + y2 + " L" + tp.x + " " + (tp.y - 3);
        lx = (hp.x + ex) / 2;
        ly = y1;
        var tail = { x: (sx + tp.x) / 2, y: y2 };  // the tail's half is labelled too
      }
      o.push('<path class="' + cls + '" d="' + d + '"' + marker + "/>");
      var lw = textWidth(a.type, (a.sugg ? "italic " : "") + ARC_FONT) + 10;
      [{ x: lx, y: ly }].concat(same ? [] : [tail]).forEach(function (at) {
        o.push('<rect class="arc-lbl-bg' + (selected ? " sel" : "") + '" x="' + (at.x - lw / 2) + '" y="' + (at.y - 7) + '" width="' + lw + '" height="14" rx="3"/>');
        o.push(svgText(at.x, at.y + 3.5, a.type, 'class="arc-lbl' + (a.sugg ? " sugg" : "") + '" text-anchor="middle"'));
        hits.push({ x: at.x - lw / 2, y: at.y - 7, w: lw, h: 14, item: a.item });
      });
    });

    under.setAttribute("viewBox", "0 0 " + W + " " + H);
    under.innerHTML = u.join("");
    over.setAttribute("viewBox", "0 0 " + W + " " + H);
    over.innerHTML = '<defs><marker id="ed-arrow" viewBox="0 0 8 8" refX="4" refY="7" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">' +
      '<path d="M0 0 L4 8 L8 0 z" fill="#475467" transform="rotate(-90 4 4)"/></marker></defs>' + o.join("");
    if (skipPanels !== true) renderPanels(pm, pr);
    var dt = performance.now() - t0;
    renderTimes.push(dt);
    return dt;
  }

  // ---- side panels -------------------------------------------------------------------------------------
  function chip(type, extra) {
    var t = types[type] || { colour: "#888888", fg: "#111" };
    return '<span class="chip small' + (extra || "") + '" style="--c:' + t.colour + ";--fg:" + (t.fg || "#111") + '">' + esc(type) + "</span>";
  }
  function mref(m) { return m ? chip(m.type) + ' <span class="mt">' + esc(mtext(m.fragments)) + "</span>" : "?"; }
  function isSel(kind, key) { return sel && sel.kind === kind && (kind === "mention" ? sel.id === key : sel.index === key); }

  function renderPanels(pm, pr) {
    var ml = sortedMentions().map(function (m) {
      return '<li data-kind="mention" data-id="' + esc(m.id) + '" class="' + (isSel("mention", m.id) ? "sel" : "") + '">' +
        '<button type="button" class="item" data-kind="mention" data-id="' + esc(m.id) + '">' + mref(m) +
        (m.fragments.length > 1 ? ' <span class="muted small">' + m.fragments.length + " fragments</span>" : "") + "</button>" +
        (RO ? "" : '<button type="button" class="x" data-del-mention="' + esc(m.id) + '" title="Delete">×</button>') + "</li>";
    });
    $("ed-mentions").innerHTML = ml.join("") || '<li class="muted small">No mentions yet.</li>';
    $("ed-n-mentions").textContent = state.mentions.length;
    var rl = state.relations.map(function (r, i) {
      return '<li class="' + (isSel("relation", i) ? "sel" : "") + '"><button type="button" class="item" data-kind="relation" data-index="' + i + '">' +
        mref(mentionById(r.head)) + ' <span class="rel">—' + esc(r.type) + "→</span> " + mref(mentionById(r.tail)) + "</button>" +
        (RO ? "" : '<button type="button" class="x" data-del-relation="' + i + '" title="Delete">×</button>') + "</li>";
    });
    state.groups.forEach(function (g) {
      rl.push('<li><span class="rel">' + esc(g.type) + "</span> " + g.members.map(function (id) { return mref(mentionById(id)); }).join(' <span class="muted">|</span> ') + "</li>");
    });
    $("ed-relations").innerHTML = rl.join("") || '<li class="muted small">No relations yet.</li>';
    $("ed-n-relations").textContent = state.relations.length;
    if (RO) return;

    var sl = pm.map(function (i) {
      var m = sugg.mentions[i];
      return '<li class="' + (isSel("sm", i) ? "sel" : "") + '"><button type="button" class="item" data-kind="sm" data-index="' + i + '">' +
        chip(m.type, " dashed") + ' <span class="mt">' + esc(mtext(m.fragments)) + '</span> <span class="conf">' + Math.round((m.score || 0) * 100) + "%</span></button>" +
        '<button type="button" class="ok" data-accept="sm:' + i + '" title="Accept">✓</button>' +
        '<button type="button" class="x" data-reject="sm:' + i + '" title="Reject">×</button></li>';
    });
    pr.forEach(function (i) {
      var r = sugg.relations[i];
      var h = sugg.mentions[r.head], t = sugg.mentions[r.tail];
      sl.push('<li class="' + (isSel("sr", i) ? "sel" : "") + '"><button type="button" class="item" data-kind="sr" data-index="' + i + '">' +
        '<span class="mt">' + esc(mtext(h.fragments)) + '</span> <span class="rel">—' + esc(r.type) + '→</span> <span class="mt">' + esc(mtext(t.fragments)) +
        '</span> <span class="conf">' + Math.round((r.score || 0) * 100) + "%</span></button>" +
        '<button type="button" class="ok" data-accept="sr:' + i + '" title="Accept">✓</button>' +
        '<button type="button" class="x" data-reject="sr:' + i + '" title="Reject">×</button></li>');
    });
    var nAcc = 0, nRej = 0;
    ["mention", "relation"].forEach(function (k) {
      Object.keys(decisions[k]).forEach(function (i) { if (decisions[k][i] === "accepted") nAcc++; else nRej++; });
    });
    var nSugg = (sugg.mentions || []).length + (sugg.relations || []).length;
    var summary = !sugg.model_version ? '<li class="muted small">No active model has suggestions for this sentence.</li>'
      : !nSugg ? '<li class="muted small">The model suggests nothing in this sentence.</li>'
      : '<li class="muted small summary">' + nAcc + " accepted, " + nRej + " rejected" + (sl.length ? "" : "; nothing left to decide") + "</li>";
    $("ed-suggestions").innerHTML = sl.join("") + summary;
    $("ed-accept-all").disabled = !sl.length;
    $("ed-reject-all").disabled = !sl.length;
    $("ed-accept-all").parentNode.hidden = !nSugg;
    renderSelected();
    $("ed-undo").disabled = !undoStack.length;
    $("ed-redo").disabled = !redoStack.length;
  }

  function renderSelected() {
    var box = $("ed-selected");
    var h = "";
    if (sel && sel.kind === "mention") {
      var m = mentionById(sel.id);
      if (!m) { sel = null; return renderSelected(); }
      h = '<p class="sel-text">' + esc(mtext(m.fragments)) + "</p>" +
        '<label class="small">Type <select id="ed-sel-type">' + data.schema.entity_types.map(function (t) {
          return "<option" + (t.name === m.type ? " selected" : "") + ">" + esc(t.name) + "</option>";
        }).join("") + "</select></label>" +
        '<p class="small muted">Fragments: ' + m.fragments.map(function (f) { return "[" + f[0] + ", " + f[1] + ")"; }).join(" ") + "</p>" +
        '<div class="btns"><button type="button" class="btn small" id="ed-add-frag"' + (pending ? "" : " disabled") + ' title="Select more words, then + ">Add fragment <kbd>+</kbd></button>' +
        '<button type="button" class="btn small" id="ed-relate" title="Relate to another mention">Relate… <kbd>&gt;</kbd></button>' +
        '<button type="button" class="btn small danger" id="ed-del">Delete <kbd>Del</kbd></button></div>';
    } else if (sel && sel.kind === "relation") {
      var r = state.relations[sel.index];
      if (!r) { sel = null; return renderSelected(); }
      var hm = mentionById(r.head), tm = mentionById(r.tail);
      var opts = allowedRelTypes(hm.type, tm.type);
      h = '<p class="sel-text">' + mref(hm) + ' <span class="rel">→</span> ' + mref(tm) + "</p>" +
        '<label class="small">Relation <select id="ed-sel-reltype">' + opts.map(function (rt) {
          return "<option" + (rt.name === r.type ? " selected" : "") + ">" + esc(rt.name) + "</option>";
        }).join("") + "</select></label>" +
        '<div class="btns"><button type="button" class="btn small danger" id="ed-del">Delete <kbd>Del</kbd></button></div>';
    } else if (sel && (sel.kind === "sm" || sel.kind === "sr")) {
      var it = sel.kind === "sm" ? sugg.mentions[sel.index] : sugg.relations[sel.index];
      var what = sel.kind === "sm" ? chip(it.type, " dashed") + " " + esc(mtext(it.fragments))
        : esc(mtext(sugg.mentions[it.head].fragments)) + ' <span class="rel">—' + esc(it.type) + "→</span> " + esc(mtext(sugg.mentions[it.tail].fragments));
      h = '<p class="sel-text">Suggested: ' + what + "</p>" +
        '<p class="small muted">Model v' + sugg.model_version + ", confidence " + Math.round((it.score || 0) * 100) + "%</p>" +
        '<div class="btns"><button type="button" class="btn small primary" data-accept="' + sel.kind + ":" + sel.index + '">Accept <kbd>↵</kbd></button>' +
        '<button type="button" class="btn small" data-reject="' + sel.kind + ":" + sel.index + '">Reject <kbd>Del</kbd></button></div>';
    } else if (pending) {
      h = '<p class="sel-text">“' + esc(slice(pending[0], pending[1])) + '”</p><p class="small muted">Press a type key or click a type to mark it.</p>';
    } else {
      h = '<p class="small muted">Nothing selected. Select words, click a mention, or press <kbd>Tab</kbd>.</p>';
    }
    box.innerHTML = h;
  }

  function renderPalette() {
    $("ed-palette").innerHTML = data.schema.entity_types.map(function (t) {
      return '<button type="button" class="chip ptype" data-type="' + esc(t.name) + '" style="--c:' + t.colour + ";--fg:" + t.fg + '"' +
        (RO ? " disabled" : "") + ">" + esc(t.name) + (t.hotkey ? " <kbd>" + esc(t.hotkey) + "</kbd>" : "") + "</button>";
    }).join("");
  }

  // ---- status and hints --------------------------------------------------------------------------------
  function setStatus(msg, cls) {
    var el = $("ed-status");
    el.textContent = msg;
    el.className = "ed-status" + (cls ? " " + cls : "");
  }
  function hint(msg, cls) {
    var el = $("ed-hint");
    el.innerHTML = msg || "";
    el.className = "ed-hint" + (cls ? " " + cls : "");
  }
  function statusLine() {
    if (RO) return setStatus(version ? "Gold version " + version : "No gold version yet", "");
    setStatus(version ? (annStatus === "submitted" ? "Submitted" : "Draft") + " · saved v" + version : "Not saved yet", "ok");
  }

  // ---- edits -------------------------------------------------------------------------------------------
  function snapshot() { return { state: copy(state), decisions: copy(decisions) }; }
  function change(fn) {
    var before = snapshot();
    var result = fn();
    if (result === false) return false;
    undoStack.push(before);
    if (undoStack.length > 200) undoStack.shift();
    redoStack = [];
    scheduleSave();
    render();
    return true;
  }
  function restore(snap) {
    state = snap.state;
    decisions = snap.decisions;
    if (sel && sel.kind === "mention" && !mentionById(sel.id)) sel = null;
    if (sel && sel.kind === "relation" && !state.relations[sel.index]) sel = null;
    scheduleSave();
    render();
  }
  function undo() { if (undoStack.length) { redoStack.push(snapshot()); restore(undoStack.pop()); hint("Undone."); } }
  function redo() { if (redoStack.length) { undoStack.push(snapshot()); restore(redoStack.pop()); hint("Redone."); } }

  function pruneGroups() {
    state.groups = state.groups.map(function (g) {
      return { type: g.type, members: g.members.filter(function (id) { return !!mentionById(id); }) };
    }).filter(function (g) { return g.members.length >= 2; });
  }

  function createMention(type, frags) {
    if (findMention(type, frags)) { hint("That " + esc(type) + " mention is already there.", "warn"); return null; }
    var m = { id: newId(), type: type, fragments: frags };
    state.mentions.push(m);
    return m;
  }

  function markPending(type) {
    if (!pending) return;
    var made = null;
    change(function () { made = createMention(type, [pending.slice()]); return made ? true : false; });
    if (made) {
      pending = null;
      sel = { kind: "mention", id: made.id };
      hint("Marked " + chip(type) + " “" + esc(mtext(made.fragments)) + "”.");
      render();
    }
  }

  function changeType(id, type) {
    var m = mentionById(id);
    if (!m || m.type === type) return;
    if (findMention(type, m.fragments)) { hint("A " + esc(type) + " mention with these words exists already.", "warn"); return; }
    var dropped = [];
    change(function () {
      m.type = type;
      state.relations = state.relations.filter(function (r) {
        if (r.head !== id && r.tail !== id) return true;
        var ok = allowedRelTypes(mentionById(r.head).type, mentionById(r.tail).type).some(function (rt) { return rt.name === r.type; });
        if (!ok) dropped.push(r.type);
        return ok;
      });
    });
    hint("Now " + chip(type) + (dropped.length ? "; removed " + dropped.length + " relation(s) the schema does not allow for it (" + esc(dropped.join(", ")) + ")" : "") + ".",
      dropped.length ? "warn" : "");
  }

  function addFragment() {
    if (!(sel && sel.kind === "mention" && pending)) { hint("Select a mention, then select more words and press <kbd>+</kbd>.", "warn"); return; }
    var m = mentionById(sel.id);
    var p = pending;
    var merged = m.fragments.concat([p.slice()]).sort(function (a, b) { return a[0] - b[0]; });
    for (var i = 0; i + 1 < merged.length; i++) {
      if (merged[i + 1][0] < merged[i][1]) { hint("The new fragment overlaps the mention's own words.", "warn"); return; }
    }
    if (findMention(m.type, merged)) { hint("That mention exists already.", "warn"); return; }
    change(function () { m.fragments = merged; });
    pending = null;
    hint("Added a fragment: “" + esc(mtext(m.fragments)) + "”.");
    render();
  }

  function deleteSelected() {
    if (!sel) return;
    if (sel.kind === "mention") {
      var id = sel.id;
      change(function () {
        state.mentions = state.mentions.filter(function (m) { return m.id !== id; });
        state.relations = state.relations.filter(function (r) { return r.head !== id && r.tail !== id; });
        pruneGroups();
      });
      sel = null;
      hint("Deleted the mention (<kbd>Ctrl+Z</kbd> brings it back).");
    } else if (sel.kind === "relation") {
      var i = sel.index;
      change(function () { state.relations.splice(i, 1); });
      sel = null;
      hint("Deleted the relation.");
    } else {
      reject([sel.kind + ":" + sel.index]);
    }
    render();
  }

  // ---- relations ---------------------------------------------------------------------------------------
  function startRelation() {
    if (!(sel && sel.kind === "mention")) { hint("Select the head mention first, then press <kbd>&gt;</kbd>.", "warn"); return; }
    relMode = { head: sel.id, stage: "tail" };
    pending = null;
    hint("Relation from " + mref(mentionById(sel.id)) + ": choose the tail (click it, or <kbd>Tab</kbd> to it and <kbd>Enter</kbd>). <kbd>Esc</kbd> cancels.", "mode");
    render();
  }
  function chooseTail(id) {
    var h = mentionById(relMode.head), t = mentionById(id);
    var opts = allowedRelTypes(h.type, t.type);
    if (!opts.length) {
      hint("No relation type takes a " + esc(h.type) + " head and a " + esc(t.type) + " tail. Choose another tail or <kbd>Esc</kbd>.", "warn");
      return;
    }
    relMode.tail = id;
    relMode.stage = "type";
    relMode.options = opts;
    var menu = $("ed-relmenu");
    menu.innerHTML = '<span class="small">' + mref(h) + ' <span class="rel">→</span> ' + mref(t) + ": </span>" + opts.map(function (rt, i) {
      return '<button type="button" class="btn small" data-reltype="' + esc(rt.name) + '"><kbd>' + (i + 1) + "</kbd> " + esc(rt.name) + "</button>";
    }).join("") + ' <button type="button" class="btn small ghost" data-relcancel="1">Cancel <kbd>Esc</kbd></button>';
    menu.hidden = false;
    hint("Pick the relation type: a number, or click. Only the types the schema allows for " + esc(h.type) + " → " + esc(t.type) + " are offered.", "mode");
    render();
  }
  function makeRelation(type) {
    var head = relMode.head, tail = relMode.tail;
    endRelation();
    if (relExists(type, head, tail)) { hint("That relation exists already.", "warn"); return; }
    change(function () { state.relations.push({ type: type, head: head, tail: tail }); });
    sel = { kind: "relation", index: state.relations.length - 1 };
    hint("Related: " + mref(mentionById(head)) + ' <span class="rel">—' + esc(type) + "→</span> " + mref(mentionById(tail)) + ".");
    render();
  }
  function endRelation() {
    relMode = null;
    $("ed-relmenu").hidden = true;
    $("ed-relmenu").innerHTML = "";
    hint("");
  }

  // ---- suggestions -------------------------------------------------------------------------------------
  function postDecisions(list) {
    if (!list.length || !sugg.model_version) return;
    api("POST", data.urls.decisions, { model_version: sugg.model_version, decisions: list }).then(function (res) {
      if (res.status !== 200) setStatus("Could not record the decision: " + ((res.body && res.body.detail) || res.status), "error");
    });
  }
  function acceptInto(keys, out) {  // within change(): apply accepts, collect decisions
    keys.forEach(function (key) {
      var kind = key.split(":")[0], i = parseInt(key.split(":")[1], 10);
      if (kind === "sm") {
        var m = sugg.mentions[i];
        if (!findMention(m.type, m.fragments)) createMention(m.type, m.fragments.map(function (f) { return f.slice(); }));
        decisions.mention[i] = "accepted";
        out.push({ kind: "mention", index: i, decision: "accepted" });
      } else {
        var r = sugg.relations[i];
        var ends = [r.head, r.tail].map(function (mi) {
          var sm = sugg.mentions[mi];
          var have = findMention(sm.type, sm.fragments);
          if (!have) {
            have = createMention(sm.type, sm.fragments.map(function (f) { return f.slice(); }));
            decisions.mention[mi] = "accepted";
            out.push({ kind: "mention", index: mi, decision: "accepted" });
          }
          return have;
        });
        var ok = allowedRelTypes(ends[0].type, ends[1].type).some(function (rt) { return rt.name === r.type; });
        if (!ok) { hint("The schema does not allow " + esc(r.type) + " between these types; the relation was not added.", "warn"); return; }
        if (!relExists(r.type, ends[0].id, ends[1].id)) state.relations.push({ type: r.type, head: ends[0].id, tail: ends[1].id });
        decisions.relation[i] = "accepted";
        out.push({ kind: "relation", index: i, decision: "accepted" });
      }
    });
  }
  function accept(keys) {
    var out = [];
    change(function () { acceptInto(keys, out); });
    if (sel && (sel.kind === "sm" || sel.kind === "sr")) sel = null;
    postDecisions(out);
    hint("Accepted " + keys.length + " suggestion" + (keys.length === 1 ? "" : "s") + ".");
    render();
  }
  function reject(keys) {
    var out = [];
    change(function () {
      keys.forEach(function (key) {
        var kind = key.split(":")[0], i = parseInt(key.split(":")[1], 10);
        var k = kind === "sm" ? "mention" : "relation";
        decisions[k][i] = "rejected";
        out.push({ kind: k, index: i, decision: "rejected" });
        if (kind === "sm") {
          // Suggested relations that need this mention go with it.
          (sugg.relations || []).forEach(function (r, ri) {
            if ((r.head === i || r.tail === i) && !decisions.relation[ri] && !(endpointOf(r.head) && endpointOf(r.tail))) {
              decisions.relation[ri] = "rejected";
              out.push({ kind: "relation", index: ri, decision: "rejected" });
            }
          });
        }
      });
    });
    if (sel && (sel.kind === "sm" || sel.kind === "sr")) sel = null;
    postDecisions(out);
    hint("Rejected " + keys.length + " suggestion" + (keys.length === 1 ? "" : "s") + ".");
    render();
  }
  function allPending() {
    var pm = pendingSuggMentions();
    return pm.map(function (i) { return "sm:" + i; }).concat(pendingSuggRelations(pm).map(function (i) { return "sr:" + i; }));
  }

  // ---- saving ------------------------------------------------------------------------------------------
  var csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value ||
    (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  var inFlight = 0;  // requests not answered yet (tests and the bench wait for 0)
  function api(method, url, body, extra) {
    inFlight++;
    return fetch(url, Object.assign({
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }, extra || {})).then(function (r) {
      return r.text().then(function (t) {
        var parsed = null;
        try { parsed = t ? JSON.parse(t) : null; } catch (e) { parsed = { detail: t.slice(0, 200) }; }
        inFlight--;
        return { status: r.status, body: parsed };
      });
    }, function () { inFlight--; return { status: 0, body: null }; });
  }

  var saveTimer = null, saving = null, changeSeq = 0, dirty = false, conflict = null;
  // This page's id: the server lets the page's own newer state replace its older saves when they race
  // (the keepalive sent on leaving while the last autosave is in flight) instead of answering 409.
  // getRandomValues, not randomUUID: the latter is missing on plain-http deployments.
  var clientId = Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(16)), function (b) {
    return (b + 256).toString(16).slice(1);
  }).join("");
  function scheduleSave() {
    if (RO) return;
    dirty = true;
    changeSeq++;
    setStatus("Unsaved changes…", "dirty");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, 700);
  }
  function payload() {
    pruneGroups();
    return {
      version: version, status: annStatus === "submitted" ? "submitted" : "draft",
      client_id: clientId, client_seq: changeSeq,
      mentions: state.mentions.map(function (m) { return { id: m.id, type: m.type, fragments: m.fragments }; }),
      relations: state.relations.map(function (r) { return { type: r.type, head: r.head, tail: r.tail }; }),
      groups: state.groups,
    };
  }
  function save() {
    clearTimeout(saveTimer);
    if (RO || conflict) return Promise.resolve(false);
    if (saving) return saving.then(function () { return dirty ? save() : !conflict; });
    var seq = changeSeq;
    setStatus("Saving…", "dirty");
    saving = api("PUT", data.urls.save, payload()).then(function (res) {
      saving = null;
      if (res.status === 200) {
        version = res.body.version;
        annStatus = res.body.status;
        base = res.body;
        if (seq === changeSeq) { dirty = false; statusLine(); return true; }
        return save();
      }
      if (res.status === 409) { showConflict(res.body); return false; }
      if (res.status === 0) {
        setStatus("Offline: not saved, retrying…", "error");
        saveTimer = setTimeout(save, 3000);
        return false;
      }
      setStatus("Not saved: " + ((res.body && res.body.detail) || ("error " + res.status)), "error");
      return false;
    });
    return saving;
  }

  // ---- the 409 dialog ----------------------------------------------------------------------------------
  function describe(keys, sets) {
    return keys.map(function (k) {
      var v = sets[k];
      return "<li>" + esc(v.type) + " <q>" + esc(v.text) + "</q></li>";
    }).join("");
  }
  function contentIndex(st) {
    var mi = {}, ri = {}, byId = {};
    (st.mentions || []).forEach(function (m) {
      var k = L.fragKey(m.type, m.fragments);
      byId[m.id] = { k: k, t: mtext(m.fragments) };
      mi[k] = { type: m.type, text: mtext(m.fragments) };
    });
    (st.relations || []).forEach(function (r) {
      var h = byId[r.head] || { k: "?", t: "?" }, t = byId[r.tail] || { k: "?", t: "?" };
      ri[r.type + "(" + h.k + " → " + t.k + ")"] = { type: r.type, text: h.t + " → " + t.t };
    });
    return { m: mi, r: ri };
  }
  function changesHtml(from, to, added, removed) {
    var d = L.diffStates(from, to);
    var a = contentIndex(from), b = contentIndex(to);
    var parts = [];
    if (d.mentionsAdded.length) parts.push("<h4>" + added + "</h4><ul class='add'>" + describe(d.mentionsAdded, b.m) + "</ul>");
    if (d.mentionsRemoved.length) parts.push("<h4>" + removed + "</h4><ul class='del'>" + describe(d.mentionsRemoved, a.m) + "</ul>");
    if (d.relationsAdded.length) parts.push("<h4>Relations: " + added.toLowerCase() + "</h4><ul class='add'>" + describe(d.relationsAdded, b.r) + "</ul>");
    if (d.relationsRemoved.length) parts.push("<h4>Relations: " + removed.toLowerCase() + "</h4><ul class='del'>" + describe(d.relationsRemoved, a.r) + "</ul>");
    return parts.join("") || "<p class='muted small'>No change to mentions or relations.</p>";
  }
  function showConflict(body) {
    var theirs = body && body.details;  // null: the annotation was deleted on the server
    conflict = { theirs: theirs };
    clearTimeout(saveTimer);
    setStatus("Conflict: not saved", "error");
    var mine = payload();
    var when = theirs && theirs.updated_at ? new Date(theirs.updated_at).toLocaleTimeString() : "";
    var el = $("ed-conflict");
    el.innerHTML = '<div class="ed-dialog wide" role="alertdialog" aria-modal="true" aria-labelledby="ed-conflict-title">' +
      '<h2 id="ed-conflict-title">This sentence changed on the server while you were editing</h2>' +
      "<p>" + esc((body && body.detail) || "") + (theirs ? " Their version " + theirs.version + (when ? " was saved at " + esc(when) : "") + "." : "") +
      " Your work is kept here; nothing has been overwritten.</p>" +
      '<div class="ed-diff"><section><h3>On the server (theirs), since you opened it</h3>' + changesHtml(base, theirs || {}, "They added", "They removed") + "</section>" +
      "<section><h3>Yours, compared with the server's</h3>" + changesHtml(theirs || {}, mine, "Only in yours", "Only on the server") + "</section></div>" +
      '<div class="btns"><button type="button" class="btn primary" id="ed-keep-mine">Keep mine (overwrite theirs)</button>' +
      '<button type="button" class="btn" id="ed-take-theirs">Take theirs (yours stays one Undo away)</button></div></div>';
    el.hidden = false;
    $("ed-keep-mine").focus();
  }
  function resolveConflict(keepMine) {
    var theirs = conflict.theirs;
    conflict = null;
    $("ed-conflict").hidden = true;
    version = theirs ? theirs.version : 0;
    annStatus = theirs ? theirs.status : "draft";
    base = theirs || { mentions: [], relations: [] };
    if (keepMine) {
      dirty = true;
      changeSeq++;
      save().then(function (ok) { if (ok) hint("Your version replaced theirs."); });
    } else {
      undoStack.push(snapshot());
      redoStack = [];
      state = fromServer(theirs);
      bumpIds(state);
      sel = null;
      dirty = false;
      statusLine();
      hint("Took the server's version. <kbd>Ctrl+Z</kbd> brings yours back.");
    }
    render();
    textEl.focus();
  }

  // ---- submit and skip ---------------------------------------------------------------------------------
  var leaving = false;
  // At submit, a suggestion nobody decided on gets the decision the submitted annotation implies: accepted
  // when it holds the same item (typed by hand, say), rejected when it does not.
  function implicitDecisions() {
    var out = [];
    (sugg.mentions || []).forEach(function (m, i) {
      if (decisions.mention[i] || !types[m.type]) return;
      decisions.mention[i] = findMention(m.type, m.fragments) ? "accepted" : "rejected";
      out.push({ kind: "mention", index: i, decision: decisions.mention[i] });
    });
    (sugg.relations || []).forEach(function (r, i) {
      if (decisions.relation[i]) return;
      var h = endpointOf(r.head), t = endpointOf(r.tail);
      decisions.relation[i] = h && t && relExists(r.type, h.id, t.id) ? "accepted" : "rejected";
      out.push({ kind: "relation", index: i, decision: decisions.relation[i] });
    });
    if (!out.length || !sugg.model_version) return Promise.resolve(true);
    return api("POST", data.urls.decisions, { model_version: sugg.model_version, decisions: out }).then(function (res) {
      return res.status === 200;
    });
  }
  function submit() {
    if (RO || conflict) return;
    setStatus("Submitting…", "dirty");
    var ready = dirty || version === 0 ? save() : Promise.resolve(true);
    ready.then(function (ok) {
      if (!ok && version !== 0) return;
      if (!ok && dirty) return;
      return implicitDecisions().then(function () {
        return api("POST", data.urls.submit, { version: version });
      }).then(function (res) {
        if (res.status === 200) {
          leaving = true;
          setStatus("Submitted · opening the next sentence…", "ok");
          window.location.assign(data.urls.next);
        } else if (res.status === 409) {
          showConflict(res.body);
        } else {
          setStatus("Not submitted: " + ((res.body && res.body.detail) || res.status), "error");
        }
      });
    });
  }
  function skip() {
    if (RO) return;
    var ready = dirty ? save() : Promise.resolve(true);
    ready.then(function (ok) {
      if (!ok && dirty) return;
      leaving = true;
      $("ed-skip-form").submit();
    });
  }

  // ---- selection from the mouse ------------------------------------------------------------------------
  function offsetOf(node, off) {  // a DOM position inside the text -> code-point offset
    var el = node.nodeType === 3 ? node.parentNode : node;
    if (el === textEl) {
      var child = textEl.childNodes[off];
      return child ? tokens[+child.dataset.t].s : cps.length;
    }
    var span = el.closest && el.closest("[data-t]");
    if (!span || !textEl.contains(span)) return null;
    var tok = tokens[+span.dataset.t];
    if (node.nodeType !== 3) return off > 0 ? tok.e : tok.s;
    return tok.s + L.unitToCp(node.data, off);
  }
  function trim(s, e) {
    while (s < e && /\s/.test(cps[s])) s++;
    while (e > s && /\s/.test(cps[e - 1])) e--;
    return e > s ? [s, e] : null;
  }
  function hitAt(ev) {
    var b = wrap.getBoundingClientRect();
    var x = ev.clientX - b.left, y = ev.clientY - b.top;
    for (var i = hits.length - 1; i >= 0; i--) {
      var h = hits[i];
      if (x >= h.x && x <= h.x + h.w && y >= h.y && y <= h.y + h.h) return h.item;
    }
    return null;
  }
  function selectItem(item) {
    if (relMode && relMode.stage === "tail" && item.kind === "mention") { chooseTail(item.id); return; }
    sel = item;
    pending = null;
    render();
  }
  wrap.addEventListener("mousedown", function (ev) {
    var item = hitAt(ev);
    if (item) { ev.preventDefault(); textEl.focus(); selectItem(item); }
  });
  wrap.addEventListener("mouseup", function (ev) {
    keyboardMode = false;
    if (hitAt(ev)) return;
    var s = window.getSelection();
    if (!s.rangeCount) return;
    var r = s.getRangeAt(0);
    if (!textEl.contains(r.startContainer) && r.startContainer !== textEl) return;
    var a = offsetOf(r.startContainer, r.startOffset), b = offsetOf(r.endContainer, r.endOffset);
    if (a === null || b === null) return;
    if (!r.collapsed) {
      if (RO) return;  // a viewer may select text to copy it; it never becomes a mention
      var span = trim(Math.min(a, b), Math.max(a, b));
      s.removeAllRanges();
      if (!span) return;
      pending = span;
      clickCycle = null;
      if (sel && sel.kind !== "mention") sel = null;
      var w = words.indexOf(firstToken(span[1] - 1));
      if (w >= 0) caret = w;
      hint(sel && sel.kind === "mention" ? "Press a type key to mark the words, or <kbd>+</kbd> to add them to the selected mention." : "Press a type key or click a type to mark “" + esc(slice(span[0], span[1])) + "”.");
      render();
      return;
    }
    // A click: select the innermost mention under the word; clicking again walks outwards.
    if (!tokens.length) return;
    var ti = firstToken(Math.min(a, cps.length - 1));
    var tok = tokens[ti];
    if (tok.kind === "ws") return;
    var covering = state.mentions.filter(function (m) {
      return m.fragments.some(function (f) { return f[0] < tok.e && tok.s < f[1]; });
    }).sort(function (x, y) {
      var wx = 0, wy = 0;
      x.fragments.forEach(function (f) { wx += f[1] - f[0]; });
      y.fragments.forEach(function (f) { wy += f[1] - f[0]; });
      return wx - wy;
    });
    caret = words.indexOf(ti);
    pending = null;
    if (!covering.length) { if (!relMode) sel = null; render(); return; }
    var n = clickCycle && clickCycle.token === ti ? clickCycle.n + 1 : 0;
    clickCycle = { token: ti, n: n };
    selectItem({ kind: "mention", id: covering[n % covering.length].id });
  });

  // ---- clicks in the panels ----------------------------------------------------------------------------
  root.addEventListener("click", function (ev) {
    var t = ev.target.closest("button");
    if (!t || !root.contains(t)) return;
    if (t.dataset.type) {
      if (pending) markPending(t.dataset.type);
      else if (sel && sel.kind === "mention") changeType(sel.id, t.dataset.type);
      else hint("Select words first, then pick their type.", "warn");
    } else if (t.dataset.kind) {
      selectItem(t.dataset.kind === "mention" ? { kind: "mention", id: t.dataset.id } : { kind: t.dataset.kind, index: +t.dataset.index });
    } else if (t.dataset.delMention) {
      sel = { kind: "mention", id: t.dataset.delMention }; deleteSelected();
    } else if (t.dataset.delRelation) {
      sel = { kind: "relation", index: +t.dataset.delRelation }; deleteSelected();
    } else if (t.dataset.accept) {
      accept([t.dataset.accept]);
    } else if (t.dataset.reject) {
      reject([t.dataset.reject]);
    } else if (t.dataset.reltype) {
      makeRelation(t.dataset.reltype);
    } else if (t.dataset.relcancel) {
      endRelation(); render();
    } else if (t.id === "ed-accept-all") {
      var all = allPending(); if (all.length) accept(all);
    } else if (t.id === "ed-reject-all") {
      var allr = allPending(); if (allr.length) reject(allr);
    } else if (t.id === "ed-add-frag") { addFragment();
    } else if (t.id === "ed-relate") { startRelation();
    } else if (t.id === "ed-del") { deleteSelected();
    } else if (t.id === "ed-undo") { undo();
    } else if (t.id === "ed-redo") { redo();
    } else if (t.id === "ed-submit") { submit();
    } else if (t.id === "ed-skip") { ev.preventDefault(); skip();
    } else if (t.id === "ed-help-btn") { toggleHelp(true);
    } else if (t.id === "ed-help-close") { toggleHelp(false);
    } else if (t.id === "ed-keep-mine") { resolveConflict(true);
    } else if (t.id === "ed-take-theirs") { resolveConflict(false);
    } else { return; }
    if (!t.closest(".ed-overlay") || !conflict) textEl.focus({ preventScroll: true });
  });
  root.addEventListener("change", function (ev) {
    if (ev.target.id === "ed-sel-type" && sel && sel.kind === "mention") changeType(sel.id, ev.target.value);
    if (ev.target.id === "ed-sel-reltype" && sel && sel.kind === "relation") {
      var i = sel.index, v = ev.target.value;
      change(function () { state.relations[i].type = v; });
    }
  });

  // ---- keyboard ----------------------------------------------------------------------------------------
  function toggleHelp(on) {
    $("ed-help").hidden = !on;
    if (on) $("ed-help-close").focus(); else textEl.focus();
  }
  function cycleItems() {
    var list = sortedMentions().map(function (m) { return { kind: "mention", id: m.id, s: m.fragments[0][0] }; });
    if (!RO) {
      var pm = pendingSuggMentions();
      pm.forEach(function (i) { list.push({ kind: "sm", index: i, s: sugg.mentions[i].fragments[0][0] + 0.5 }); });
      pendingSuggRelations(pm).forEach(function (i) { list.push({ kind: "sr", index: i, s: 1e9 + i }); });
    }
    if (relMode) list = list.filter(function (x) { return x.kind === "mention"; });
    return list.sort(function (a, b) { return a.s - b.s; });
  }
  function sameItem(a, b) { return a && b && a.kind === b.kind && (a.kind === "mention" ? a.id === b.id : a.index === b.index); }
  function moveSel(step) {
    var list = cycleItems();
    if (!list.length) { hint("Nothing to select yet: select words with <kbd>Shift</kbd>+<kbd>→</kbd> and press a type key.", "warn"); return; }
    var at = -1;
    list.forEach(function (x, i) { if (sameItem(x, sel)) at = i; });
    var next = list[(at + step + list.length) % list.length];
    sel = next.kind === "mention" ? { kind: "mention", id: next.id } : { kind: next.kind, index: next.index };
    pending = null;
    render();
  }
  function moveCaret(step, extend, to) {
    if (!words.length) return;
    keyboardMode = true;
    if (caret === null) caret = step > 0 ? -1 : words.length;
    var prev = caret;
    caret = to !== undefined ? to : Math.max(0, Math.min(words.length - 1, caret + step));
    if (extend) { if (anchor === null) anchor = prev < 0 || prev >= words.length ? caret : prev; } else anchor = caret;
    var a = tokens[words[Math.min(anchor, caret)]], b = tokens[words[Math.max(anchor, caret)]];
    pending = [a.s, b.e];
    if (sel && sel.kind !== "mention") sel = null;
    render();
  }
  function editorFocused() {
    var a = document.activeElement;
    return !a || a === document.body || a === textEl || wrap.contains(a) || (a.closest && a.closest(".ed-list"));
  }
  document.addEventListener("keydown", function (ev) {
    if (leaving) return;
    var tag = ev.target && ev.target.tagName;
    var inField = tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA";
    var ctrl = ev.ctrlKey || ev.metaKey;
    if (!$("ed-help").hidden) {
      if (ev.key === "Escape" || ev.key === "?") { ev.preventDefault(); toggleHelp(false); }
      return;
    }
    if (conflict) return;  // the dialog's buttons decide
    if (inField) return;
    var k = ev.key;
    if (k === "?") { ev.preventDefault(); toggleHelp(true); return; }
    if (RO) {
      if (k === "Tab" && editorFocused()) { ev.preventDefault(); moveSel(ev.shiftKey ? -1 : 1); }
      if (k === "Escape") { sel = null; render(); }
      return;
    }
    if (ctrl && (k === "z" || k === "Z")) { ev.preventDefault(); if (ev.shiftKey) redo(); else undo(); return; }
    if (ctrl && (k === "y" || k === "Y")) { ev.preventDefault(); redo(); return; }
    if (ctrl && k === "Enter") { ev.preventDefault(); if (ev.shiftKey) skip(); else submit(); return; }
    if (ctrl || ev.altKey) return;
    if (relMode && relMode.stage === "type") {
      if (/^[1-9]$/.test(k) && relMode.options[+k - 1]) { ev.preventDefault(); makeRelation(relMode.options[+k - 1].name); return; }
      if (k === "Enter") { ev.preventDefault(); makeRelation(relMode.options[0].name); return; }
      if (k === "Escape") { ev.preventDefault(); endRelation(); render(); return; }
      return;
    }
    if (k === "Escape") {
      ev.preventDefault();
      if (relMode) endRelation(); else if (pending) pending = null; else sel = null;
      anchor = null;
      render();
      return;
    }
    if (k === "Tab" && editorFocused()) { ev.preventDefault(); moveSel(ev.shiftKey ? -1 : 1); return; }
    if (!editorFocused()) return;
    if (relMode && k === "Enter") {
      ev.preventDefault();
      if (sel && sel.kind === "mention") chooseTail(sel.id);
      return;
    }
    if (k === "ArrowRight" || k === "ArrowLeft") { ev.preventDefault(); moveCaret(k === "ArrowRight" ? 1 : -1, ev.shiftKey); return; }
    if (k === "Home" || k === "End") { ev.preventDefault(); moveCaret(0, ev.shiftKey, k === "Home" ? 0 : words.length - 1); return; }
    if (k === "Enter") {
      ev.preventDefault();
      if (ev.shiftKey) { var all = allPending(); if (all.length) accept(all); return; }
      if (sel && (sel.kind === "sm" || sel.kind === "sr")) accept([sel.kind + ":" + sel.index]);
      return;
    }
    if (k === "Delete" || k === "Backspace") {
      ev.preventDefault();
      if (ev.shiftKey) { var allr = allPending(); if (allr.length) reject(allr); return; }
      deleteSelected();
      return;
    }
    if (k === "+") { ev.preventDefault(); addFragment(); return; }
    if (k === ">") { ev.preventDefault(); startRelation(); return; }
    var type = hotkeys[k.toLowerCase()];
    if (type && k.length === 1) {
      ev.preventDefault();
      if (pending) markPending(type);
      else if (sel && sel.kind === "mention") changeType(sel.id, type);
      else hint("Select words first (<kbd>Shift</kbd>+<kbd>→</kbd>), then press " + esc(k) + ".", "warn");
    }
  });
  // Focus only moves the caret box: panels are not rebuilt, or a button pressed while the text loses focus
  // would be replaced between its mousedown and mouseup and never get its click.
  textEl.addEventListener("focus", function () { if (caret === null && words.length) caret = 0; render(true); });
  textEl.addEventListener("blur", function () { render(true); });

  // Leaving with unsaved work: save now and ask the browser to confirm (if the user stays, that save's answer
  // updates the version as usual). If the page really goes, a keepalive request carries the work out; its
  // answer is never read, so it is only sent from pagehide, when nobody stays to edit on a stale version.
  window.addEventListener("beforeunload", function (ev) {
    if (dirty && !leaving && !RO && !conflict) {
      save();
      ev.preventDefault();
      ev.returnValue = "";
    }
  });
  window.addEventListener("pagehide", function () {
    if (dirty && !leaving && !RO && !conflict) {
      fetch(data.urls.save, { method: "PUT", keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(payload()) });
    }
  });
  var resizeTimer = null;
  window.addEventListener("resize", function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 60); });

  // ---- start -------------------------------------------------------------------------------------------
  buildText();
  renderPalette();
  statusLine();
  var firstRender = render();
  if (!RO) textEl.focus({ preventScroll: true });
  window.TMEditor = {
    state: function () { return copy(state); },
    version: function () { return version; },
    decisions: function () { return copy(decisions); },
    dirty: function () { return dirty; },
    idle: function () { return !dirty && inFlight === 0; },
    save: save,
    render: render,
    renderTimes: renderTimes,
    firstRender: firstRender,
    setPending: function (s, e) { pending = [s, e]; render(); },
  };
  document.body.setAttribute("data-editor-ready", String(Math.round(performance.now())));
})();
