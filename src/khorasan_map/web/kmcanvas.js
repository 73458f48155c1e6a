// khorasan_map: many points on one canvas, fed with binary columns (see pointlayer.py).
// lon/lat arrive as base64 Float32, kind and precision codes as base64 Uint8 pairs. A click
// finds the nearest drawn point and builds its popup on demand through kmlib's eventPopup,
// which writes text with textContent only. When a draw ends the page sets the performance mark
// "km-points-drawn" (and window.kmPointsDrawn, in milliseconds since navigation start).
var kmCanvas = window.kmCanvas || (function () {
  "use strict";

  var STYLE = {
    exact: {radius: 6, weight: 1, stroke: "#ffffff", fill: 0.9, dash: null},
    near: {radius: 4, weight: 2, stroke: null, fill: 0.25, dash: null},
    district: {radius: 8, weight: 2, stroke: null, fill: 0, dash: [3, 3]}
  };

  var PAD = 10;  // pixels around the view where a point's ring still shows

  function bytes(text) {
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function floats(text) { return new Float32Array(bytes(text).buffer); }

  var HALO = 2;  // a white ring this wide, dark-edged, around each point: seen on any fill

  // One small picture per kind and precision, stamped once per point.
  function sprite(color, precision) {
    var s = STYLE[precision] || STYLE.near, size = 2 * (s.radius + s.weight + HALO) + 2;
    var c = document.createElement("canvas");
    c.width = c.height = size;
    var g = c.getContext("2d");
    g.beginPath();
    g.arc(size / 2, size / 2, s.radius, 0, 2 * Math.PI);
    g.lineWidth = s.weight + 2 * HALO + 1;  // a dark edge, then the white halo inside it
    g.strokeStyle = "rgba(51, 51, 51, 0.8)";
    g.stroke();
    g.lineWidth = s.weight + 2 * HALO - 1;
    g.strokeStyle = "#ffffff";
    g.stroke();
    if (s.fill) { g.globalAlpha = s.fill; g.fillStyle = color; g.fill(); g.globalAlpha = 1; }
    g.lineWidth = s.weight;
    g.strokeStyle = s.stroke || color;
    if (s.dash) { g.setLineDash(s.dash); }
    g.stroke();
    return c;
  }

  // Web Mercator in units of the world's width (0..1): the same projection as Leaflet's.
  function mercator(lon, lat) {
    var n = lon.length, mx = new Float64Array(n), my = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      mx[i] = lon[i] / 360 + 0.5;
      var s = Math.sin(lat[i] * Math.PI / 180);
      my[i] = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
    }
    return {x: mx, y: my};
  }

  // The sprite of each point (in date order, so no kind hides under another), and the sprites.
  function spritesOf(spec, kp) {
    var n = spec.n, which = new Uint8Array(n), seen = {}, list = [];
    for (var i = 0; i < n; i++) {
      var key = kp[2 * i] * 16 + kp[2 * i + 1];
      if (seen[key] === undefined) {
        seen[key] = list.length;
        list.push(sprite(spec.kinds[kp[2 * i]].color, spec.precisions[kp[2 * i + 1]]));
      }
      which[i] = seen[key];
    }
    return {which: which, list: list};
  }

  // The popup of row i, through kmlib's popup builder (which reads one-row columns).
  function rowView(spec, i) {
    var meta = spec.meta[spec.m[i]];
    return {
      kinds: spec.kinds, sources: spec.sources, dates: spec.dates, actors: spec.actors,
      fatalities: spec.fatalities, confidence: spec.confidence, places: spec.places,
      descriptions: spec.descriptions,
      k: [meta[0]], a: [meta[2]], t: [meta[3]], c: [meta[4]],
      d: [spec.d[i]], f: [spec.f[i]], l: [spec.l[i]], s: [spec.s[i]],
      e: spec.e ? [(spec.ep || "") + spec.e[i]] : null
    };
  }

  var Layer = L.Layer.extend({
    initialize: function (spec, popup) {
      if (window.performance && performance.mark) { performance.mark("km-points-start"); }
      this._spec = spec;
      this._popup = popup;
      this._n = spec.n;
      this._lon = floats(spec.lon);
      this._lat = floats(spec.lat);
      var m = mercator(this._lon, this._lat);
      this._mx = m.x;
      this._my = m.y;
      this._sprites = spritesOf(spec, bytes(spec.kp));
      this._shown = new Uint8Array(spec.n).fill(1);
      this._px = new Float32Array(spec.n);
      this._py = new Float32Array(spec.n);
      this._cell = new Int32Array(spec.n);
    },

    onAdd: function (map) {
      this._canvas = L.DomUtil.create("canvas", "km-canvas-points leaflet-zoom-hide");
      this._canvas.style.pointerEvents = "none";
      map.getPanes().overlayPane.appendChild(this._canvas);
      map.on("moveend zoomend resize viewreset", this._schedule, this);
      map.on("click", this._click, this);
      this._schedule();
    },

    onRemove: function (map) {
      L.DomUtil.remove(this._canvas);
      map.off("moveend zoomend resize viewreset", this._schedule, this);
      map.off("click", this._click, this);
    },

    show: function (keep) {
      var n = 0;
      for (var i = 0; i < this._n; i++) {
        this._shown[i] = !keep || keep(i) ? 1 : 0;
        n += this._shown[i];
      }
      this._version = (this._version || 0) + 1;
      this._schedule();
      return n;
    },

    _schedule: function () {
      if (this._frame || !this._map) { return; }
      var self = this;
      this._frame = L.Util.requestAnimFrame(function () { self._frame = null; self._draw(); });
    },

    _draw: function () {
      var t0 = window.performance ? performance.now() : 0;
      var map = this._map, size = map.getSize(), canvas = this._canvas;
      var topLeft = map.containerPointToLayerPoint([0, 0]);
      var view = [map.getZoom(), topLeft.x, topLeft.y, map.getPixelOrigin().x,
                  map.getPixelOrigin().y, size.x, size.y, this._version].join();
      if (view === this._view) { return; }  // nothing moved since the last draw
      this._view = view;
      L.DomUtil.setPosition(canvas, topLeft);
      canvas.width = size.x;
      canvas.height = size.y;
      var g = canvas.getContext("2d"), world = map.options.crs.scale(map.getZoom());
      var ox = topLeft.x + map.getPixelOrigin().x, oy = topLeft.y + map.getPixelOrigin().y;
      var px = this._px, py = this._py, mx = this._mx, my = this._my, shown = this._shown;
      px.fill(NaN);
      // A later point on the same pixel covers an earlier one: stamp only the last of each pixel.
      var w = size.x + 2 * PAD, top = new Int32Array(w * (size.y + 2 * PAD)).fill(-1);
      var cell = this._cell, i, x, y;
      for (i = 0; i < this._n; i++) {
        cell[i] = -1;
        if (!shown[i]) { continue; }
        x = mx[i] * world - ox;
        y = my[i] * world - oy;
        if (x < -PAD || y < -PAD || x >= size.x + PAD || y >= size.y + PAD) { continue; }
        px[i] = x;
        py[i] = y;
        cell[i] = Math.floor(y + PAD) * w + Math.floor(x + PAD);
        top[cell[i]] = i;
      }
      var which = this._sprites.which, list = this._sprites.list;
      for (i = 0; i < this._n; i++) {
        if (cell[i] < 0 || top[cell[i]] !== i) { continue; }
        var img = list[which[i]], h = img.width / 2;
        g.drawImage(img, Math.round(px[i] - h), Math.round(py[i] - h));
      }
      if (window.performance && performance.mark) { performance.mark("km-points-drawn"); }
      window.kmPointsDrawn = window.performance ? performance.now() : Date.now();
      window.kmPointsDrawMs = window.kmPointsDrawn - t0;
      canvas.setAttribute("data-drawn", "1");
    },

    // The nearest drawn point within a few pixels of the click, and how many more are as close.
    nearest: function (x, y) {
      var best = -1, bestD = 100, px = this._px, py = this._py;
      for (var i = 0; i < this._n; i++) {
        var dx = px[i] - x, dy = py[i] - y, d = dx * dx + dy * dy;
        if (d < bestD) { bestD = d; best = i; }
      }
      if (best < 0) { return null; }
      var more = 0;
      for (var k = 0; k < this._n; k++) {
        var ex = px[k] - px[best], ey = py[k] - py[best];
        if (k !== best && ex * ex + ey * ey <= 9) { more++; }
      }
      return {i: best, more: more};
    },

    _click: function (e) {
      var hit = this.nearest(e.containerPoint.x, e.containerPoint.y);
      if (!hit) { return; }
      var box = this._popup(rowView(this._spec, hit.i), 0);
      if (hit.more) {
        var note = document.createElement("div");
        note.className = "km-note km-popup-more";
        note.textContent = hit.more + " more event" + (hit.more === 1 ? "" : "s") +
          " at this spot: zoom in to tell them apart.";
        box.appendChild(note);
      }
      L.popup({maxWidth: 320, className: "km-popup-box", autoPan: false})
        .setLatLng([this._lat[hit.i], this._lon[hit.i]])
        .setContent(box)
        .openOn(this._map);
    }
  });

  // Same contract as kmlib's marker points: {group, show}, and spec.year for the timeline.
  function points(map, target, spec, state, helpers) {
    spec.year = spec.dates.map(helpers.yearOf);
    var layer = new Layer(spec, helpers.popup);
    target.addLayer(layer);
    if (helpers.keep) { layer.show(helpers.keep); }  // the step and filters shown
    return {group: layer, show: function (keep) { return layer.show(keep); }};
  }

  return {points: points, Layer: Layer};
})();
window.kmCanvas = kmCanvas;
