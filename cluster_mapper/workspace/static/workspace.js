/* The workspace's pages: forms sent to the JSON API with the CSRF token, plan status, review map.
   No data is ever inserted as HTML: text goes in with textContent. */
(function () {
  "use strict";
  var CM = (window.CM = { markers: {} });
  CM.csrf = function () { return document.querySelector('meta[name="csrf-token"]').content; };

  function say(text, problems, ok) {
    var box = document.getElementById("message");
    box.hidden = false;
    box.className = "message " + (ok ? "ok" : "error");
    box.textContent = text;
    if (problems && problems.length) {
      var ul = document.createElement("ul");
      problems.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = (p.file ? p.file + (p.row ? " " + (p.row_word || "row") + " " + p.row : "") + ", " : "") + (p.edit ? "edit " + p.edit + ": " : "") + (p.field ? p.field + ": " : "") + p.message + (p.fix ? " " + p.fix : "");
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }
  CM.say = say;

  CM.send = function (url, body, isJson) {
    var headers = { "X-CSRF-Token": CM.csrf() };
    if (isJson) headers["Content-Type"] = "application/json";
    return fetch(url, { method: "POST", headers: headers, body: isJson ? JSON.stringify(body) : body, credentials: "same-origin" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) { var e = new Error(typeof j.detail === "string" ? j.detail : "refused (" + r.status + ")"); e.problems = j.problems || []; throw e; }
          return j;
        });
      });
  };

  /* A form with data-nested sends its fields that carry data-path (a JSON list of keys) as nested JSON:
     data-path='["values","schools","gender","Co-ed"]' -> {"values": {"schools": {"gender": {"Co-ed": value}}}}
     (keys are the files' own headers and codes: a path, never a dotted name). */
  function nestedBody(form) {
    var out = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-path]"), function (el) {
      if (el.disabled) return;
      var path = JSON.parse(el.getAttribute("data-path")), node = out;
      for (var i = 0; i < path.length - 1; i++) node = node[path[i]] = node[path[i]] || {};
      node[path[path.length - 1]] = el.value;
    });
    return out;
  }

  function formBody(form) {
    if (form.hasAttribute("data-nested")) return nestedBody(form);
    var data = new FormData(form);
    if (!form.hasAttribute("data-json")) return data;
    var out = {};
    data.forEach(function (v, k) {
      if (k === "csrf_token") return;
      out[k] = v === "true" ? true : v;
    });
    return out;
  }

  document.addEventListener("click", function (ev) {  // a button that prints the page (no inline handlers: the page policy forbids them)
    if (ev.target.closest && ev.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.hasAttribute("data-goto")) {  // a form that only opens a page, such as /plans/{a}/diff/{b}
      ev.preventDefault();
      location.href = form.getAttribute("data-goto").replace(/\{(\w+)\}/g, function (_, k) { return encodeURIComponent(form.elements[k].value); });
      return;
    }
    if (!form.hasAttribute("data-api")) return;
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    CM.send(form.getAttribute("data-api"), formBody(form), form.hasAttribute("data-json"))
      .then(function (j) {
        var next = form.getAttribute("data-next") || location.pathname;
        location.href = next.replace(/\{(\w+)\}/g, function (_, k) { return encodeURIComponent(j[k]); });
      })
      .catch(function (e) { say(e.message, e.problems); if (button) button.disabled = false; });
  });

  document.addEventListener("click", function (ev) {
    if (ev.target.getAttribute && ev.target.getAttribute("data-action") === "logout") {
      CM.send("/api/logout", {}, true).then(function () { location.href = "/login"; });
    }
  });

  CM.watchPlan = function () {
    var el = document.getElementById("status");
    if (!el || ["queued", "running"].indexOf(el.getAttribute("data-status")) < 0) return;
    var id = el.getAttribute("data-plan");
    var timer = setInterval(function () {
      fetch("/api/plans/" + id, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
        el.textContent = j.status;
        var pr = document.getElementById("progress");
        if (pr) pr.textContent = j.progress ? j.progress.message + " (" + Math.round(100 * j.progress.fraction) + " %)" : "";
        if (["queued", "running"].indexOf(j.status) < 0) { clearInterval(timer); location.reload(); }  // done, failed, cancelled
      });
    }, 1000);
  };

  function colour(id) {
    var h = 0;
    for (var i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
    return "hsl(" + h + ",65%,42%)";
  }

  function showSchool(p) {
    var box = document.getElementById("school");
    if (!box) return;
    box.textContent = "";
    var h = document.createElement("h2");
    h.textContent = (p.name || p.school_id) + " (" + p.school_id + ")";
    box.appendChild(h);
    var dl = document.createElement("dl");
    [["Cluster", p.cluster_id || "not placed"], ["Venue", p.kind === "venue" ? "this school" : p.venue_school_id || ""],
     ["Travel", p.travel_minutes != null ? Math.round(p.travel_minutes) + " minutes" : ""],
     ["Teachers", p.teachers ? JSON.stringify(p.teachers) : ""], ["Can host", p.can_host], ["Why not placed", p.reason || ""]]
      .forEach(function (kv) {
        if (kv[1] === "" || kv[1] == null) return;
        var dt = document.createElement("dt"); dt.textContent = kv[0];
        var dd = document.createElement("dd"); dd.textContent = String(kv[1]);
        dl.appendChild(dt); dl.appendChild(dd);
      });
    box.appendChild(dl);
  }

  CM.selectSchool = function (p, other) {
    showSchool(p);
    var a = document.getElementById(other ? "edit-other" : "edit-school");
    if (a) a.value = p.school_id;
    var c = document.getElementById("edit-cluster");
    if (c && !other) c.value = p.cluster_id || "";
  };

  // Above this many schools and venues the review map draws on one canvas (a programme of 10,000 schools:
  // SVG would make one DOM element per marker); below it, SVG, whose markers are elements of the page.
  CM.CANVAS_ABOVE = 3000;

  function tipText(p) {  // text, never HTML: names come from the offices' files
    var tip = document.createElement("span");
    tip.textContent = p.school_id + (p.name ? " " + p.name : "");
    return tip;
  }

  CM.reviewMap = function () {
    var el = document.getElementById("map");
    var moved = (el.getAttribute("data-moved") || "").split(" ").filter(Boolean);
    var map = L.map(el, { preferCanvas: false });
    L.control.scale().addTo(map);
    CM.map = map;
    fetch("/api/plans/" + el.getAttribute("data-plan") + "/map", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        var renderer = fc.features.length > CM.CANVAS_ABOVE ? L.canvas({ padding: 0.3 }) : undefined;
        var layer = L.geoJSON(fc, {
          pointToLayer: function (f, latlng) {
            var p = f.properties, isMoved = moved.indexOf(p.school_id) >= 0;
            var venue = p.kind === "venue";
            return L.circleMarker(latlng, {
              radius: venue ? 8 : isMoved ? 7 : 4,
              color: isMoved ? "#d00" : venue ? "#000" : colour(p.cluster_id || "none"),
              weight: isMoved ? 3 : 1,
              fillColor: p.cluster_id ? colour(p.cluster_id) : "#999",
              fillOpacity: venue ? 0.9 : 0.7,
              className: "cm-" + p.kind + (isMoved ? " cm-moved" : ""),
              renderer: renderer
            });
          },
          onEachFeature: function (f, lyr) {
            var p = f.properties;
            if (p.kind === "school") CM.markers[p.school_id] = lyr;
            lyr.bindTooltip(function () { return tipText(p); });  // made when it opens, not 10,000 at once
            lyr.on("click", function (e) { CM.selectSchool(p, e.originalEvent && e.originalEvent.shiftKey); });
          }
        }).addTo(map);
        var focus = layer.getLayers().filter(function (l) { return moved.indexOf(l.feature.properties.school_id) >= 0; });
        var bounds = focus.length ? L.featureGroup(focus).getBounds() : layer.getBounds();
        if (layer.getLayers().length) map.fitBounds(bounds, { padding: [40, 40], maxZoom: 12 });
        focus.forEach(function (l) { l.bringToFront(); });
        el.setAttribute("data-renderer", renderer ? "canvas" : "svg");
        el.setAttribute("data-ready", String(layer.getLayers().length));
      });
  };
})();
