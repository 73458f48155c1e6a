// khorasan_map: offline maps have no image folder, so Leaflet's default marker icon points at
// the inlined images listed in the JSON element #km-leaflet-icons just before this script.
(function () {
  "use strict";
  var node = document.getElementById("km-leaflet-icons");
  if (!node || !window.L) { return; }
  L.Icon.Default.imagePath = "";
  L.Icon.Default.mergeOptions(JSON.parse(node.textContent));
})();
