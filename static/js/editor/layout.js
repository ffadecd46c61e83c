// TrialMark annotation page: pure layout helpers (no DOM). Offsets are Unicode code points, [start, end),
// as the server stores them; JavaScript strings index UTF-16 units, so every conversion goes through here.
(function (global) {
  "use strict";

  // Words (letters, digits, marks) are one token; every other non-space character is a token of its own.
  var WORD = /[\p{L}\p{N}\p{M}]/u;
  var SPACE = /\s/u;

  function tokenize(text) {
    var chars = Array.from(text);
    var out = [];
    var i = 0;
    while (i < chars.length) {
      var c = chars[i];
      var j = i + 1;
      var kind;
      if (SPACE.test(c)) {
        kind = "ws";
        while (j < chars.length && SPACE.test(chars[j])) j++;
      } else if (WORD.test(c)) {
        kind = "w";
        while (j < chars.length && WORD.test(chars[j])) j++;
      } else {
        kind = "p";
      }
      out.push({ s: i, e: j, kind: kind, text: chars.slice(i, j).join("") });
      i = j;
    }
    return out;
  }

  // Code-point offset within a string -> UTF-16 index.
  function cpToUnit(str, cp) {
    var units = 0;
    var n = 0;
    for (var ch of str) {
      if (n >= cp) break;
      units += ch.length;
      n++;
    }
    return units;
  }

  function unitToCp(str, unit) {
    return Array.from(str.slice(0, unit)).length;
  }

  function overlaps(a, b) {
    for (var i = 0; i < a.length; i++) {
      for (var j = 0; j < b.length; j++) {
        if (a[i][0] < b[j][1] && b[j][0] < a[i][1]) return true;
      }
    }
    return false;
  }

  function width(frags) {
    var w = 0;
    for (var i = 0; i < frags.length; i++) w += frags[i][1] - frags[i][0];
    return w;
  }

  // Lane per item key: items sharing a character get different lanes; shorter first so that, in a nest,
  // the innermost mention sits closest to the text (the same rule as annotation/rendering.py).
  function assignLanes(items) {
    var order = items.slice().sort(function (a, b) {
      return (width(a.fragments) - width(b.fragments)) || (a.fragments[0][0] - b.fragments[0][0]) ||
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    });
    var lanes = {};
    var placed = [];
    order.forEach(function (it) {
      var taken = {};
      placed.forEach(function (o) { if (overlaps(it.fragments, o.fragments)) taken[lanes[o.key]] = true; });
      var lane = 0;
      while (taken[lane]) lane++;
      lanes[it.key] = lane;
      placed.push(it);
    });
    return lanes;
  }

  // Arc level per arc key (1 = lowest): arcs whose character spans overlap get different levels, shorter
  // arcs lower, so a long arc passes over the short ones it spans.
  function arcLevels(arcs) {
    var order = arcs.slice().sort(function (a, b) { return (a.e - a.s) - (b.e - b.s) || a.s - b.s; });
    var levels = {};
    var placed = [];
    order.forEach(function (arc) {
      var taken = {};
      placed.forEach(function (o) { if (arc.s < o.e && o.s < arc.e) taken[levels[o.key]] = true; });
      var level = 1;
      while (taken[level]) level++;
      levels[arc.key] = level;
      placed.push(arc);
    });
    return levels;
  }

  function fragKey(type, fragments) {
    return type + "@" + fragments.map(function (f) { return f[0] + "-" + f[1]; }).join(",");
  }

  // What changed between two annotation states, by content (type + fragments; relations by the content
  // of their ends), never by id: ids differ between the client and the server.
  function contentSets(state) {
    var byId = {};
    var mentions = {};
    (state.mentions || []).forEach(function (m) {
      var k = fragKey(m.type, m.fragments);
      byId[m.id] = k;
      mentions[k] = m;
    });
    var relations = {};
    (state.relations || []).forEach(function (r) {
      var k = r.type + "(" + byId[r.head] + " → " + byId[r.tail] + ")";
      relations[k] = { type: r.type, head: byId[r.head], tail: byId[r.tail] };
    });
    return { mentions: mentions, relations: relations };
  }

  function diffStates(from, to) {
    var a = contentSets(from || {});
    var b = contentSets(to || {});
    function minus(x, y) { return Object.keys(x).filter(function (k) { return !(k in y); }).sort(); }
    return {
      mentionsAdded: minus(b.mentions, a.mentions), mentionsRemoved: minus(a.mentions, b.mentions),
      relationsAdded: minus(b.relations, a.relations), relationsRemoved: minus(a.relations, b.relations),
    };
  }

  function median(xs) {
    var s = xs.slice().sort(function (a, b) { return a - b; });
    return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
  }

  global.TMLayout = {
    tokenize: tokenize, cpToUnit: cpToUnit, unitToCp: unitToCp, overlaps: overlaps, assignLanes: assignLanes,
    arcLevels: arcLevels, fragKey: fragKey, diffStates: diffStates, median: median,
  };
})(window);
