// khorasan_map: builds every map's layers, tooltips, popups, legend and notes from its JSON data.
// Text reaches the page only through textContent and createElement, never innerHTML.
var kmLib = window.kmLib || (function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function auto(node) {
    node.setAttribute("dir", "auto");
    return node;
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) { return null; }
    var parsed;
    try { parsed = new URL(value); } catch (err) { return null; }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") { return null; }
    return parsed.href;
  }

  function data(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  // Rows of a tooltip or popup: a compact two-column table, the label left, the value right.
  function lines(parent, pairs) {
    var table = el("table", "km-rows");
    pairs.forEach(function (pair) {
      if (pair[1] === null || pair[1] === undefined || pair[1] === "") { return; }
      var row = el("tr", "km-row");
      var key = auto(el("th", "km-key", pair[0]));
      key.setAttribute("scope", "row");
      row.appendChild(key);
      row.appendChild(auto(el("td", "km-value", pair[1])));
      table.appendChild(row);
    });
    parent.appendChild(table);
  }

  // Keep an open tooltip inside the map: shift it back by what spills over an edge.
  function keepInside(map, tooltip) {
    var node = tooltip && tooltip.getElement && tooltip.getElement();
    if (!node || !node.offsetParent) { return; }
    var box = node.getBoundingClientRect(), frame = map.getContainer().getBoundingClientRect();
    var pad = 6, dx = 0, dy = 0;
    if (box.right > frame.right - pad) { dx = frame.right - pad - box.right; }
    if (box.left + dx < frame.left + pad) { dx = frame.left + pad - box.left; }
    if (box.bottom > frame.bottom - pad) { dy = frame.bottom - pad - box.bottom; }
    if (box.top + dy < frame.top + pad) { dy = frame.top + pad - box.top; }
    if (dx || dy) { L.DomUtil.setPosition(node, L.DomUtil.getPosition(node).add([dx, dy])); }
  }

  // Pan the map so an open popup is inside the map and clear of its panels: the headline,
  // legend, notes and filters cover the map's corners, and Leaflet's own auto-pan (off on
  // these popups) knows only the map's edges, so a popup could open half under a panel.
  function panClear(map, popup) {
    var node = popup.getElement && popup.getElement();
    if (!node || !node.offsetParent) { return; }
    var frame = map.getContainer().getBoundingClientRect(), box = node.getBoundingClientRect();
    var pad = 8, panels = [];
    map.getContainer().querySelectorAll(".leaflet-control").forEach(function (c) {
      var r = c.getBoundingClientRect();
      if (r.width && r.height) { panels.push(r); }
    });
    function fits(dx, dy) {
      var l = box.left + dx, r = box.right + dx, t = box.top + dy, b = box.bottom + dy;
      if (l < frame.left + pad || r > frame.right - pad) { return false; }
      if (t < frame.top + pad || b > frame.bottom - pad) { return false; }
      return panels.every(function (q) {
        return r <= q.left || l >= q.right || b <= q.top || t >= q.bottom;
      });
    }
    var xs = [0, frame.left + pad - box.left, frame.right - pad - box.right];
    var ys = [0, frame.top + pad - box.top, frame.bottom - pad - box.bottom];
    panels.forEach(function (q) {
      xs.push(q.right + pad - box.left, q.left - pad - box.right);
      ys.push(q.bottom + pad - box.top, q.top - pad - box.bottom);
    });
    var best = null;
    xs.forEach(function (dx) {
      ys.forEach(function (dy) {
        var cost = Math.abs(dx) + Math.abs(dy);
        if ((best === null || cost < best[2]) && fits(dx, dy)) { best = [dx, dy, cost]; }
      });
    });
    if (best === null) {  // no place clear of every panel: at least inside the map
      best = [Math.max(0, xs[1]) || Math.min(0, xs[2]), Math.max(0, ys[1]) || Math.min(0, ys[2])];
    }
    if (best[0] || best[1]) { map.panBy([-best[0], -best[1]], {animate: false}); }
  }

  function control(map, position, node) {
    var Box = L.Control.extend({
      onAdd: function () {
        L.DomEvent.disableClickPropagation(node);
        L.DomEvent.disableScrollPropagation(node);
        return node;
      }
    });
    new Box({position: position}).addTo(map);
    return node;
  }

  function swatch(item) {
    var box = el("span", "km-swatch km-swatch-" + item.type);
    if (item.type === "fill") {
      box.style.backgroundColor = item.color;
    } else if (item.type === "outline") {
      box.style.borderColor = item.color;
    } else if (item.type === "marker") {
      box.className += " km-mk-" + item.precision;
      box.style.borderColor = item.color;
      if (item.precision === "exact") { box.style.backgroundColor = item.color; }
    } else if (item.type === "badge") {
      box.textContent = "n";
    }
    return box;
  }

  // The legend; its counts can be rewritten: classes by key, kinds, precisions and the badges.
  function legend(spec) {
    var box = el("div", "km-legend");
    var counts = {}, kinds = {}, drawn = {}, initial = {};
    if (spec.title) { box.appendChild(auto(el("div", "km-legend-title", spec.title))); }
    spec.sections.forEach(function (section) {
      var part = el("div", "km-legend-section");
      if (section.title) { part.appendChild(auto(el("div", "km-legend-heading", section.title))); }
      section.items.forEach(function (item) {
        var row = el("div", "km-legend-item");
        if (item.key !== undefined && item.key !== null) {
          row.setAttribute("data-class", String(item.key));
        }
        if (item.kind) { row.setAttribute("data-kind", item.kind); }
        if (item.precision) { row.setAttribute("data-precision", item.precision); }
        row.appendChild(swatch(item));
        row.appendChild(auto(el("span", "km-legend-label", item.label)));
        if (item.count !== undefined && item.count !== null) {
          var count = el("span", "km-legend-count", "(" + item.count + ")");
          row.appendChild(count);
          if (item.key !== undefined && item.key !== null) { counts[String(item.key)] = count; }
          if (item.kind) { kinds[item.kind] = count; initial[item.kind] = item.count; }
          if (item.precision) { drawn[item.precision] = count; }
          if (item.type === "badge") { drawn.badge = count; }
          if (item.type === "outline") { drawn.outline = count; }
        }
        part.appendChild(row);
      });
      box.appendChild(part);
    });
    if (spec.note) { box.appendChild(auto(el("div", "km-legend-note", spec.note))); }
    return {node: box, counts: counts, kinds: kinds, drawn: drawn, initialKinds: initial};
  }

  function furniture(spec) {
    var box = el("div", "km-furniture");
    if (spec.title) {
      box.appendChild(auto(el("div", "km-title", spec.title)));
      document.title = spec.title;  // a string property: never parsed as HTML
    }
    if (spec.subtitle) { box.appendChild(auto(el("div", "km-subtitle", spec.subtitle))); }
    spec.lines.forEach(function (line) { box.appendChild(auto(el("div", "km-note", line))); });
    return box;
  }

  function provinceTooltip(row, pairs) {
    var box = el("div", "km-tooltip");
    var head = el("div", "km-tooltip-title");
    head.appendChild(auto(el("span", "km-name", row.name)));
    if (row.dari) {
      head.appendChild(document.createTextNode(" "));
      var dari = auto(el("span", "km-name-dari", row.dari));
      dari.setAttribute("lang", "fa-AF");
      head.appendChild(dari);
    }
    box.appendChild(head);
    lines(box, pairs);
    return box;
  }

  // The key of the step shown in the page's data (render.step_key writes the same): null on a
  // map with no timeline, "all", a year, or "upto" and a year for the running total.
  function stepKey(state) {
    if (state.step === null || state.step === "all") { return state.step; }
    return state.cumulative ? "upto" + state.step : state.step;
  }

  // Whether an event of a year (text; null when unknown) is in the step shown.
  function inStep(state, year) {
    if (state.step === null || state.step === "all") { return true; }
    if (!year) { return false; }
    return state.cumulative ? Number(year) <= Number(state.step) : year === state.step;
  }

  // Whether an event of a kind (its key) and grade (index; -1 ungraded) passes the filters.
  function passes(state, kind, grade) {
    var f = state.filter;
    return !f || (f.kindOn[kind] === true && grade >= f.minGrade);
  }

  // Events of province i that pass the in-map filters and are in the step shown.
  function filteredCount(filters, i, state) {
    var n = 0;
    filters.rows[i].forEach(function (t) {
      var year = t.length > 3 ? (filters.years[t[3]] || null) : null;
      if (state.filter.kinds[t[0]] && t[1] >= state.filter.minGrade &&
          (t.length < 4 || inStep(state, year))) { n += t[2]; }
    });
    return n;
  }

  // The class of a filtered count, by the map's own bins (upper bounds, inclusive).
  function binOf(bins, n) {
    if (n === 0) { return 0; }
    for (var j = 0; j < bins.length; j += 1) { if (n <= bins[j]) { return j + 1; } }
    return bins.length;
  }

  function choropleth(map, target, spec, state) {
    var colors = spec.classes.colors;
    function classOf(row, i) {
      var key = stepKey(state), cls = key === null ? row.cls : row.cls[key];
      if (state.filter && spec.filters && cls !== -1) {
        return binOf(spec.filters.bins, filteredCount(spec.filters, i, state));
      }
      return cls;
    }
    function pairsOf(row, i) {
      var key = stepKey(state), pairs = row.lines, head = [];
      if (key !== null) {
        head.push([/^\d{4}$/.test(key) ? "Year" : "Years", spec.words[key]]);
        pairs = spec.tooltips[row.lines[key]];
      }
      if (state.filter && spec.filters) {
        head.push(["Shown by the filters", filteredCount(spec.filters, i, state)]);
      }
      return head.concat(pairs);
    }
    function style(feature) {
      var row = spec.rows[feature.properties.i];
      return {
        fillColor: colors[String(classOf(row, feature.properties.i))], fillOpacity: 0.78,
        color: "#4d4d4d", weight: 0.8, opacity: 0.9, className: "km-province"
      };
    }
    var layer = L.geoJSON(spec.geojson, {
      pane: "kmProvinces",
      style: style,
      onEachFeature: function (feature, path) {
        var row = spec.rows[feature.properties.i];
        var i = feature.properties.i;
        path.kmRow = row;
        path.bindTooltip(function () { return provinceTooltip(row, pairsOf(row, i)); },
                         {sticky: true, className: "km-tooltip-box", direction: "auto"});
        path.on("tooltipopen mousemove", function () { keepInside(map, path.getTooltip()); });
        path.on("add", function () {
          var node = path.getElement && path.getElement();
          if (node) { node.setAttribute("data-province", row.code); }
        });
        path.on("mouseover", function () { path.setStyle({weight: 2.5, color: "#111"}); });
        path.on("mouseout", function () { path.setStyle({weight: 0.8, color: "#4d4d4d"}); });
      }
    });
    target.addLayer(layer);
    return {
      layer: layer,
      restyle: function () {
        layer.eachLayer(function (path) {
          path.setStyle(style(path.feature));
          // An open tooltip is written again: it would otherwise keep the step it opened on.
          if (path.isTooltipOpen()) { path.getTooltip().update(); }
        });
      },
      classCounts: function () {
        var out = {};
        spec.rows.forEach(function (row, i) {
          var c = String(classOf(row, i));
          out[c] = (out[c] || 0) + 1;
        });
        return out;
      }
    };
  }

  // Kind toggles and a minimum confidence, all in the page: the fills, the points, the badges,
  // the legend's counts and the headline follow them (with the step, on a timeline).
  function filterControl(map, spec, state, parts) {
    var filters = spec.choropleth.filters, box = el("div", "km-filter");
    var chosen = {kinds: filters.kinds.map(function () { return true; }), minGrade: -1,
                  kindOn: {}, levels: filters.levels};
    box.appendChild(el("div", "km-filter-title", "Filter events"));
    function update() {
      filters.kinds.forEach(function (k, j) { chosen.kindOn[k[0]] = chosen.kinds[j]; });
      var all = chosen.minGrade === -1 && chosen.kinds.every(Boolean);
      state.filter = all ? null : chosen;
      refresh(spec, state, parts);
    }
    filters.kinds.forEach(function (kind, j) {
      var label = el("label", "km-filter-kind"), input = el("input");
      input.type = "checkbox";
      input.checked = true;
      input.setAttribute("data-kind", kind[0]);
      input.addEventListener("change", function () { chosen.kinds[j] = input.checked; update(); });
      label.appendChild(input);
      label.appendChild(auto(el("span", null, " " + kind[1])));
      box.appendChild(label);
    });
    var row = el("label", "km-filter-grade", "Minimum confidence ");
    var select = el("select");
    select.appendChild(el("option", null, "any")).value = "-1";
    filters.levels.forEach(function (level, j) {
      select.appendChild(el("option", null, level)).value = String(j);
    });
    select.addEventListener("change", function () {
      chosen.minGrade = Number(select.value);
      update();
    });
    row.appendChild(select);
    box.appendChild(row);
    control(map, "topleft", box);
  }

  // Province outlines. An outline of a kind (the defection provinces) follows the filters:
  // a province is outlined while some event of that kind in it passes them.
  function outlines(map, target, spec, state, filters) {
    function shown(feature) {
      if (!state.filter || !spec.kind || !filters) { return true; }
      var p = spec.provinces[feature.properties.i], kind = -1;
      filters.kinds.forEach(function (k, j) { if (k[0] === spec.kind) { kind = j; } });
      return filters.rows[p].some(function (t) {
        return t[0] === kind && state.filter.kinds[t[0]] && t[1] >= state.filter.minGrade;
      });
    }
    function style(feature) {
      return {fill: false, color: spec.color, weight: spec.weight,
              opacity: shown(feature) ? 0.95 : 0, dashArray: spec.dash || null,
              className: spec.className};
    }
    var layer = L.geoJSON(spec.geojson, {pane: "kmProvinces", interactive: false, style: style});
    target.addLayer(layer);
    return {
      restyle: function () {
        var n = 0;
        layer.eachLayer(function (path) {
          path.setStyle(style(path.feature));
          if (shown(path.feature)) { n += 1; }
        });
        return n;
      }
    };
  }

  var PRECISION_STYLE = {
    exact: {radius: 6, weight: 1, color: "#ffffff", fillOpacity: 0.9},
    near: {radius: 4, weight: 2, fillOpacity: 0.25},
    district: {radius: 8, weight: 2, fillOpacity: 0, dashArray: "3 3"}
  };

  function pointStyle(kind, precision) {
    var base = PRECISION_STYLE[precision] || PRECISION_STYLE.near;
    // A click on a point stays with it: the map does not hear it, so spread-out stacks stay open.
    var out = {fillColor: kind.color, color: base.color || kind.color, bubblingMouseEvents: false};
    Object.keys(base).forEach(function (key) { if (key !== "color") { out[key] = base[key]; } });
    return out;
  }

  function eventPopup(spec, i) {
    var box = el("div", "km-popup");
    var kind = spec.kinds[spec.k[i]];
    box.appendChild(auto(el("div", "km-popup-title", kind.label)));
    var src = spec.sources[spec.s[i]];
    if (src) {
      var id = spec.e[i];
      src = src.map(function (v) {
        return typeof v === "string" ? v.split("\u0000").join(id) : v;
      });
    }
    lines(box, [
      ["Date", spec.dates[spec.d[i]]],
      ["Actors", spec.actors[spec.a[i]]],
      ["Fatalities", spec.fatalities[spec.f[i]]],
      ["Confidence", spec.confidence[spec.c[i]]],
      ["Location", spec.places[spec.l[i]]],
      ["Event", spec.e ? spec.e[i] : null]
    ]);
    var text = spec.descriptions[spec.t[i]];
    if (text) { box.appendChild(auto(el("p", "km-description", text))); }
    if (src) {
      var line = el("div", "km-source");
      line.appendChild(el("span", "km-source-key", "Source: "));
      var label = src[0] || src[1] || "link";
      var url = safeUrl(src[2]);
      if (url) {
        var link = auto(el("a", "km-source-link", label));
        link.href = url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        line.appendChild(link);
      } else {
        line.appendChild(auto(el("span", "km-source-name", label)));
        var raw = src[4] || src[2];
        if (raw) {
          var note = " (address not a web link: " + raw + ")";
          line.appendChild(auto(el("span", "km-source-text", note)));
        }
      }
      if (src[1] && src[0]) { line.appendChild(auto(el("div", "km-source-title", src[1]))); }
      if (src[3]) { line.appendChild(el("div", "km-source-date", src[3])); }
      box.appendChild(line);
    }
    return box;
  }

  function yearOf(text) {
    var match = /^(\d{4})(-| |$)/.exec(text || "");
    return match ? match[1] : null;
  }

  function expand(spec) {
    if (spec.m) {
      ["k", "p", "a", "t", "c"].forEach(function (name, j) {
        spec[name] = spec.m.map(function (code) { return spec.meta[code][j]; });
      });
    }
    if (spec.ep) { spec.e = spec.e.map(function (s) { return spec.ep + s; }); }
  }

  // Kind key, precision name and grade index (-1 ungraded) of point i, marker or canvas table.
  function pointKind(spec, i) { return spec.kinds[spec.k ? spec.k[i] : spec.meta[spec.m[i]][0]].key; }
  function pointPrecision(spec, i) {
    return spec.precisions[spec.p ? spec.p[i] : spec.meta[spec.m[i]][1]];
  }
  function pointGrade(spec, i, levels) {
    return levels.indexOf(spec.confidence[spec.c ? spec.c[i] : spec.meta[spec.m[i]][4]]);
  }

  // Which points to draw: those in the step shown that pass the filters (null: every one).
  function pointKeep(spec, state) {
    if (state.step === null && !state.filter) { return null; }
    return function (i) {
      return inStep(state, spec.year[spec.d[i]]) &&
        (!state.filter || passes(state, pointKind(spec, i),
                                 pointGrade(spec, i, state.filter.levels)));
    };
  }

  // Points drawn, by precision, for the legend: what the map shows.
  function drawnCounts(spec, keep) {
    var out = {};
    for (var i = 0; i < spec.n; i++) {
      if (keep && !keep(i)) { continue; }
      var p = pointPrecision(spec, i);
      out[p] = (out[p] || 0) + 1;
    }
    return out;
  }

  function points(map, target, spec, state) {
    if (spec.canvas) {  // many points: one canvas layer (kmcanvas.js)
      spec.year = spec.dates.map(yearOf);
      return window.kmCanvas.points(map, target, spec, state,
                                    {popup: eventPopup, yearOf: yearOf,
                                     keep: pointKeep(spec, state)});
    }
    expand(spec);
    var n = spec.n, markers = new Array(n), styles = {};
    spec.year = spec.dates.map(yearOf);
    for (var i = 0; i < n; i++) {
      var key = spec.k[i] + "_" + spec.p[i];
      if (!styles[key]) {
        styles[key] = pointStyle(spec.kinds[spec.k[i]], spec.precisions[spec.p[i]]);
        styles[key].className = "km-point km-point-" + spec.precisions[spec.p[i]];
      }
      var lat = (spec.y[i] + spec.y0) / spec.scale, lon = (spec.x[i] + spec.x0) / spec.scale;
      var marker = L.circleMarker([lat, lon], styles[key]);
      marker.kmIndex = i;
      markers[i] = marker;
    }
    var group = spec.cluster
      ? L.markerClusterGroup({chunkedLoading: true, showCoverageOnHover: false,
                              maxClusterRadius: 45, spiderfyOnMaxZoom: true})
      : L.featureGroup();
    group.on("click", function (e) {
      var layer = e.layer;
      if (layer.kmIndex === undefined) { return; }
      L.popup({maxWidth: 320, className: "km-popup-box", autoPan: false})
        .setLatLng(layer.getLatLng())
        .setContent(eventPopup(spec, layer.kmIndex))
        .openOn(map);
    });
    function show(keep) {
      var chosen = keep ? markers.filter(function (m) { return keep(m.kmIndex); }) : markers;
      group.clearLayers();
      if (spec.cluster) { group.addLayers(chosen); }
      else { chosen.forEach(function (m) { group.addLayer(m); }); }
      return chosen.length;
    }
    // On the map first: markercluster adds to a detached group in quadratic time.
    target.addLayer(group);
    show(pointKeep(spec, state));
    return {group: group, show: show};
  }

  // Panes, bottom to top: provinces and outlines (350), count badges (390), then Leaflet's own
  // overlay pane (400) for points and marker pane (600) for clusters. A point or a cluster
  // drawn over a badge stays on top and takes the click.
  function panes(map) {
    [["kmProvinces", 350], ["kmBadges", 390]].forEach(function (pane) {
      if (!map.getPane(pane[0])) { map.createPane(pane[0]).style.zIndex = pane[1]; }
    });
  }

  function badges(map, target, spec, state) {
    var group = L.featureGroup(), pane = "kmBadges";
    // Events of a badge in the step shown that pass the filters.
    function countOf(item) {
      if (!item.rows) { return state.step === null || state.step === "all" ? item.count : 0; }
      var n = 0;
      item.rows.forEach(function (r) {
        if (inStep(state, r[2]) && passes(state, r[0], r[1])) { n += r[3]; }
      });
      return n;
    }
    function draw() {
      var total = 0;
      group.clearLayers();
      spec.items.forEach(function (item) {
        var count = countOf(item);
        total += count;
        if (!count) { return; }
        var label = el("span", "km-badge-count", count);
        var width = 12 + 7 * String(count).length;
        var icon = L.divIcon({className: "km-badge", html: label, iconSize: [width, 20],
                              iconAnchor: [-4, -4]});
        var marker = L.marker([item.lat, item.lon], {icon: icon, keyboard: false, pane: pane});
        marker.bindTooltip(function () {
          var box = el("div", "km-tooltip");
          box.appendChild(auto(el("div", "km-tooltip-title", item.name)));
          var words = count === 1 ? spec.textOne || spec.text : spec.text;
          box.appendChild(auto(el("div", "km-note", count + " " + words)));
          return box;
        }, {className: "km-tooltip-box"});
        marker.on("tooltipopen", function () { keepInside(map, marker.getTooltip()); });
        group.addLayer(marker);
      });
      return total;
    }
    draw();
    target.addLayer(group);
    return {draw: draw};
  }

  // The headline: the lead figure first, then one figure a line (a plain string is one line).
  function fillHeadline(box, lines) {
    while (box.firstChild) { box.removeChild(box.firstChild); }
    (typeof lines === "string" ? [lines] : lines).forEach(function (line, i) {
      box.appendChild(auto(el("div", i === 0 ? "km-headline-lead" : "km-headline-line", line)));
    });
    return box;
  }

  function headline(lines) {
    return fillHeadline(auto(el("div", "km-headline")), lines);
  }

  function setCounts(nodes, counts) {
    Object.keys(nodes).forEach(function (key) {
      nodes[key].textContent = "(" + ((counts && counts[key]) || 0) + ")";
    });
  }

  // The filtered headline: events and provinces that pass the filters in the step shown.
  function filteredHeadline(spec, state) {
    var filters = spec.choropleth.filters, chosen = state.filter, events = 0, provinces = 0;
    filters.rows.forEach(function (row, i) {
      var n = filteredCount(filters, i, state);
      events += n;
      if (n > 0) { provinces += 1; }
    });
    var names = filters.kinds.filter(function (k, j) { return chosen.kinds[j]; })
      .map(function (k) { return k[1]; });
    var grade = chosen.minGrade === -1 ? "any confidence"
      : "confidence " + filters.levels[chosen.minGrade] + " or higher";
    var key = stepKey(state), when = key === null ? "" : ", " + spec.choropleth.words[key];
    return [
      "Filtered: " + events + " events in " + provinces + " of " + filters.rows.length +
        " provinces" + when,
      (names.length ? names.join(", ") : "no kind chosen") + "; " + grade
    ];
  }

  // Events of each kind that pass the filters in the step shown (from the filters' counts).
  function filteredKinds(spec, state) {
    var filters = spec.choropleth.filters, out = {};
    filters.rows.forEach(function (row) {
      row.forEach(function (t) {
        var year = t.length > 3 ? (filters.years[t[3]] || null) : null;
        var kind = filters.kinds[t[0]][0];
        if (passes(state, kind, t[1]) && (t.length < 4 || inStep(state, year))) {
          out[kind] = (out[kind] || 0) + t[2];
        }
      });
    });
    return out;
  }

  // Show the step and the filters chosen: fills, points, badges, legend counts and headline.
  // Every figure of a step was computed in Python; the filtered ones are sums of its counts.
  function refresh(spec, state, parts) {
    var key = stepKey(state), filtered = state.filter && spec.choropleth &&
      spec.choropleth.filters;
    if (parts.choropleth) { parts.choropleth.restyle(); }
    var keep = spec.points ? pointKeep(spec.points, state) : null;
    if (parts.points) { parts.points.show(keep); }
    var badges = parts.badges ? parts.badges.draw() : 0, outlined = 0;
    (parts.outlines || []).forEach(function (o) { outlined += o.restyle(); });
    if (parts.legend) {
      var legend = parts.legend;
      if (parts.choropleth) {
        setCounts(legend.counts, filtered || key === null ? parts.choropleth.classCounts()
          : spec.timeline.counts[key]);
      }
      if (filtered) { setCounts(legend.kinds, filteredKinds(spec, state)); }
      else if (key !== null) { setCounts(legend.kinds, spec.timeline.kinds[key]); }
      else { setCounts(legend.kinds, legend.initialKinds); }
      if (spec.points) {
        var drawn = drawnCounts(spec.points, keep);
        drawn.badge = badges;
        drawn.outline = outlined;
        setCounts(legend.drawn, drawn);
      }
    }
    if (!parts.headline) { return; }
    if (filtered) { fillHeadline(parts.headline, filteredHeadline(spec, state)); }
    else if (key !== null) { fillHeadline(parts.headline, spec.timeline.headlines[key]); }
    else { fillHeadline(parts.headline, spec.headline); }
  }

  // Tiles are an extra: when one fails to load (no network), a quiet note says the province
  // outlines are the basemap. The page's code runs in the script that adds the tile layer,
  // before any tile can fail, so no error is missed.
  function tileNote(map) {
    var shown = false;
    map.eachLayer(function (layer) {
      if (!(layer instanceof L.TileLayer)) { return; }
      layer.on("tileerror", function () {
        if (shown) { return; }
        shown = true;
        control(map, "bottomleft",
                el("div", "km-tile-note", "Basemap tiles unavailable: province outlines only"));
      });
    });
  }

  // A province-label toggle: each province's English name at its centre, in a pane of its
  // own that the toggle shows and hides (hidden at first).
  function labelToggle(map, choropleth) {
    var box = el("label", "km-label-toggle"), input = el("input");
    var pane = null;
    input.type = "checkbox";
    function draw() {  // made when first asked for: a map opens with no label elements
      pane = map.createPane("kmLabels");
      choropleth.layer.eachLayer(function (path) {
        L.tooltip({permanent: true, direction: "center", className: "km-label",
                   pane: "kmLabels", interactive: false})
          .setLatLng(path.getCenter()).setContent(auto(el("span", null, path.kmRow.name)))
          .addTo(map);
      });
    }
    input.addEventListener("change", function () {
      if (!pane) { draw(); }
      pane.style.display = input.checked ? "" : "none";
    });
    box.appendChild(input);
    box.appendChild(el("span", null, " Province names"));
    return box;
  }

  // A province search box: typing a name (English or Dari) offers the provinces; choosing one
  // zooms to it and opens its tooltip.
  function searchBox(map, choropleth) {
    var box = el("div", "km-search"), input = el("input"), list = el("datalist");
    var byName = {};
    list.id = "km-search-" + L.stamp(map);
    input.type = "search";
    input.placeholder = "Find a province";
    input.setAttribute("aria-label", "Find a province");
    input.setAttribute("list", list.id);
    choropleth.layer.eachLayer(function (path) {
      [path.kmRow.name, path.kmRow.dari].forEach(function (name) {
        if (!name || byName[name]) { return; }
        byName[name] = path;
        list.appendChild(el("option")).value = name;
      });
    });
    function go() {
      var path = byName[input.value.trim()];
      if (!path) { return; }
      map.fitBounds(path.getBounds(), {animate: false, maxZoom: 8});
      path.openTooltip(path.getCenter());
    }
    input.addEventListener("change", go);
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") { go(); } });
    box.appendChild(input);
    box.appendChild(list);
    return box;
  }

  // A view control under the zoom buttons: back to the whole of Afghanistan.
  function fitButton(map, bounds) {
    var button = el("button", "km-fit", "Fit Afghanistan");
    button.type = "button";
    button.title = "Show the whole of Afghanistan";
    button.addEventListener("click", function () { map.fitBounds(bounds, {animate: false}); });
    return button;
  }

  function render(map, groups, spec) {
    var state = {step: spec.timeline ? spec.timeline.initial : null,
                 cumulative: spec.timeline ? Boolean(spec.timeline.cumulative) : false,
                 filter: null};
    panes(map);
    map.on("popupopen", function (e) { panClear(map, e.popup); });
    var parts = {};
    if (spec.choropleth) {
      parts.choropleth = choropleth(map, groups.provinces || map, spec.choropleth, state);
    }
    if (spec.outlines) {
      var filters = spec.choropleth && spec.choropleth.filters;
      parts.outlines = spec.outlines.map(function (o) {
        return outlines(map, groups[o.group] || map, o, state, filters);
      });
    }
    if (spec.points) { parts.points = points(map, groups.points || map, spec.points, state); }
    if (spec.badges) { parts.badges = badges(map, groups.points || map, spec.badges, state); }
    if (spec.headline) { parts.headline = control(map, "topright", headline(spec.headline)); }
    if (spec.legend) {
      parts.legend = legend(spec.legend);
      control(map, "bottomright", parts.legend.node);
    }
    if (spec.furniture) { control(map, "bottomleft", furniture(spec.furniture)); }
    if (spec.fit) {  // a canvas of points is fitted without the pan animation: one draw, not two
      map.fitBounds(spec.fit, spec.points && spec.points.canvas ? {animate: false} : {});
      control(map, "topleft", fitButton(map, spec.fit));  // under the zoom buttons
    }
    if (spec.timeline) { slider(map, spec, state, parts); }
    if (parts.choropleth && spec.choropleth.filters) { filterControl(map, spec, state, parts); }
    if (parts.choropleth) {
      control(map, "topright", labelToggle(map, parts.choropleth));
      control(map, "topright", searchBox(map, parts.choropleth));
    }
    tileNote(map);
    return parts;
  }

  // Ticks under the slider: every year when they fit, else every other one counted back from
  // the last year, so the last year is always named; then "All" for every year together.
  function ticks(steps, labels) {
    var row = el("div", "km-slider-ticks"), years = steps.length - 1;
    var every = steps.length > 9 ? 2 : 1;
    steps.forEach(function (step, i) {
      var shown = i === years || (years - 1 - i) % every === 0;
      row.appendChild(el("span", "km-slider-tick", shown ? (labels[step] ? "All" : step) : ""));
    });
    return row;
  }

  // Play and pause: one step a second and a bit, from the start again after the last.
  function player(input, update) {
    var button = el("button", "km-slider-play", "Play"), timer = null;
    button.type = "button";
    button.addEventListener("click", function () {
      if (timer) {
        clearInterval(timer);
        timer = null;
        button.textContent = "Play";
        return;
      }
      button.textContent = "Pause";
      timer = setInterval(function () {
        var next = Number(input.value) + 1;
        input.value = String(next > Number(input.max) ? 0 : next);
        update();
      }, 1200);
    });
    return button;
  }

  // Single year or running total: two radio buttons under the slider.
  function modeChoice(state, update) {
    var box = el("div", "km-slider-mode"), name = "km-mode-" + L.stamp(box);
    [[false, "Single year"], [true, "Up to the year (cumulative)"]].forEach(function (mode) {
      var label = el("label", "km-slider-mode-choice"), input = el("input");
      input.type = "radio";
      input.name = name;
      input.value = mode[0] ? "cumulative" : "single";
      input.checked = state.cumulative === mode[0];
      input.addEventListener("change", function () {
        if (input.checked) { state.cumulative = mode[0]; update(); }
      });
      label.appendChild(input);
      label.appendChild(el("span", null, " " + mode[1]));
      box.appendChild(label);
    });
    return box;
  }

  function stepLabel(spec, state) {
    var labels = spec.timeline.labels || {};
    if (labels[state.step]) { return labels[state.step]; }
    return state.cumulative ? "Up to and including " + state.step
      : spec.timeline.label + ": " + state.step;
  }

  function slider(map, spec, state, parts) {
    var steps = spec.timeline.steps;
    var box = el("div", "km-slider");
    var label = el("div", "km-slider-label");
    var input = el("input", "km-slider-input");
    input.type = "range";
    input.min = "0";
    input.max = String(steps.length - 1);
    input.step = "1";
    input.value = String(steps.indexOf(state.step));
    input.setAttribute("aria-label", spec.timeline.label);
    box.appendChild(label);
    var line = el("div", "km-slider-row");
    line.appendChild(input);
    box.appendChild(line);
    box.appendChild(ticks(steps, spec.timeline.labels || {}));
    function update() {
      state.step = steps[Number(input.value)];
      label.textContent = stepLabel(spec, state);
      box.setAttribute("data-step", state.step);
      box.setAttribute("data-mode", state.cumulative ? "cumulative" : "single");
      refresh(spec, state, parts);
    }
    box.appendChild(modeChoice(state, update));
    line.appendChild(player(input, update));
    input.addEventListener("input", update);
    control(map, "topleft", box);
    update();
  }

  // Each map's page holds a <script type="application/json" class="km-boot"> naming its data
  // element and the global Leaflet variables folium made for the map and its layer groups.
  function boot() {
    var nodes = document.querySelectorAll("script.km-boot");
    Array.prototype.forEach.call(nodes, function (node) {
      if (node.getAttribute("data-km-done")) { return; }
      node.setAttribute("data-km-done", "1");
      var info = JSON.parse(node.textContent);
      var groups = {};
      Object.keys(info.groups).forEach(function (key) { groups[key] = window[info.groups[key]]; });
      render(window[info.map], groups, data(info.data));
    });
  }

  return {data: data, render: render, safeUrl: safeUrl, el: el, boot: boot};
})();
window.kmLib = kmLib;
kmLib.boot();
