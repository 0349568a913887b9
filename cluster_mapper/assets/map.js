{#- The script that draws a plan on the folium map (review/map.py renders it).
    Everything it is given arrives as one JSON value (the json filter: script-safe JSON);
    folium's map and layer groups are named in it and looked up as page globals. -#}
(function () {
  var CFG = {{ config|json }};
  function layer(name) { return name ? window[name] : null; }
  var map = layer(CFG.map);
  var PLANS = CFG.plans.map(function (pg) {
    var groups = {};
    Object.keys(pg[1]).forEach(function (k) { groups[k] = layer(pg[1][k]); });
    return [pg[0], groups];
  });
  var NET = CFG.net;
  var NETGROUP = layer(CFG.netGroup);
  var CANVAS = CFG.canvas;
  var EDIT = CFG.edit;
  var NETGEN = CFG.netGen;
  var CTX = CFG.ctx;
  if (CTX) ['gd', 'gp', 'gr', 'gm'].forEach(function (k) { if (CTX[k]) CTX[k] = layer(CTX[k]); });
  var rend = CANVAS ? L.canvas({padding: 0.3}) : L.svg({padding: 0.3});
  var stats = {schools: 0, members: 0, venues: 0, lines: 0, hulls: 0, notPlaced: 0, outside: 0, roads: 0, renderer: CANVAS ? 'canvas' : 'svg'};
  var bounds = L.latLngBounds([]);
  function cls(base) { return CANVAS ? undefined : base; }

  function addPlan(P, groups) {
    var S = P.s;
    function sname(i) { return S[i][0] + ' <span style="color:#777">(' + S[i][1] + ')</span>'; }
    function schoolFacts(i) {
      var s = S[i];
      var t = '<tr><td>School</td><td>' + s[4] + ' school' + (s[5] ? ', can host meetings' : ', cannot host meetings') + '</td></tr>' +
        '<tr><td>Teachers</td><td>' + s[6] + '</td></tr>';
      if (s[7]) t += '<tr><td>Head teacher</td><td>' + s[7] + ' supports the cluster, not a regular member</td></tr>';
      if (s[8]) t += '<tr><td>Edits</td><td>' + s[8] + '</td></tr>';
      if (s[9] && s[9].length) t += '<tr><td>Could also join</td><td>' + s[9].map(function (a) {
        return a[0] + ' at ' + S[a[1]][0] + ' (' + a[2] + ' min)'; }).join('<br>') + '</td></tr>';
      return t;
    }
    // edit mode: buttons that record edits (see editPanel below)
    function editButtons(i, cid) {
      if (!EDIT || !window.clusterMapEdits || !window.clusterMapEdits.on) return '';
      var s = S[i], h = '<div class="cm-edit"><b>Edit this plan</b><br>';
      (s[9] || []).forEach(function (a) {
        h += '<button type="button" data-cm-edit="move" data-s="' + s[1] + '" data-v="' + S[a[1]][1] + '" data-c="' + a[0] + '">Move to ' + a[0] + ' (' + a[2] + ' min)</button><br>';
      });
      h += '<button type="button" data-cm-edit="apart" data-s="' + s[1] + '">Keep apart from... (then click the other school)</button><br>';
      if (cid) h += '<button type="button" data-cm-edit="lock" data-c="' + cid + '">Lock cluster ' + cid + ' as it is</button><br>';
      h += '<button type="button" data-cm-edit="no_venue" data-s="' + s[1] + '">Cannot host meetings</button></div>';
      return h;
    }
    function onSchool(i) { if (EDIT && window.clusterMapEdits) window.clusterMapEdits.school(S[i][1]); }
    var gen = P.gen ? '<div style="color:#777;font-size:11px">generated sample data, not real schools</div>' : '';
    P.c.forEach(function (c) {
      var g = groups['t:' + c[1]];
      if (!g) return;
      var col = c[2], v = c[3], vs = S[v];
      if (v < 0) return;
      var head = '<b>Cluster ' + c[0] + '</b><br>' + P.typeLabel[c[1]] + '<br>' + c[4] + ' teachers from ' + c[5] + ' school' + (c[5] == 1 ? '' : 's') +
        '<br>Venue: ' + vs[0];
      if (c[7].length > 2) {
        var hull = L.polygon(c[7], {renderer: rend, color: col, weight: 1, opacity: 0.8, fillColor: col, fillOpacity: 0.12, className: cls('cm-hull')});
        hull.bindTooltip(function () { return 'Cluster ' + c[0] + ': ' + c[4] + ' teachers, ' + c[5] + ' schools'; }, {sticky: true});
        g.addLayer(hull); stats.hulls++;
      }
      c[8].forEach(function (m) {
        var i = m[0], s = S[i], ll = [s[2], s[3]];
        bounds.extend(ll);
        if (i !== v) {
          var line = L.polyline([ll, [vs[2], vs[3]]], {renderer: rend, color: col, weight: 2, opacity: 0.85, className: cls('cm-line')});
          line.bindTooltip(function () { return s[0] + ' to venue ' + vs[0] + ': ' + m[1] + ' min'; }, {sticky: true});
          g.addLayer(line); stats.lines++;
        }
        var mk = L.circleMarker(ll, {renderer: rend, radius: 6, color: '#333', weight: 1, fillColor: col, fillOpacity: 0.9, className: cls('cm-school')});
        mk.bindTooltip(function () { return s[0] + (i === v ? ' (venue)' : ': ' + m[1] + ' min to ' + vs[0]); });
        mk.bindPopup(function () {
          return '<div class="cm-pop"><b>' + sname(i) + '</b><table>' + schoolFacts(i) +
            '<tr><td>In cluster</td><td>' + c[0] + ' (' + P.typeLabel[c[1]] + ')</td></tr>' +
            '<tr><td>Teachers in this cluster</td><td>' + m[2] + (m[3] ? '<br><span class="cm-names">' + m[3] + '</span>' : '') + '</td></tr>' +
            '<tr><td>Travel to venue</td><td>' + (i === v ? 'this school is the venue' : m[1] + ' minutes (' + P.travel + ')') + '</td></tr>' +
            '<tr><td>Venue</td><td>' + vs[0] + '</td></tr>' +
            '<tr><td>Cluster size</td><td>' + c[4] + ' teachers, ' + c[5] + ' schools</td></tr></table>' + editButtons(i, c[0]) + gen + '</div>';
        });
        mk.on('click', function () { onSchool(i); });
        g.addLayer(mk); stats.members++; stats.schools++;
      });
      var icon = L.divIcon({className: 'cm-venue', iconSize: [15, 15], html: '<div></div>'});
      var vm = L.marker([vs[2], vs[3]], {icon: icon, title: '', keyboard: false, zIndexOffset: 500});
      vm.on('add', function () { var e = vm.getElement(); if (e) { e.style.setProperty('--c', col); e.setAttribute('data-cluster', c[0]); } });
      vm.bindTooltip(function () { return 'Venue of cluster ' + c[0] + ': ' + vs[0]; });
      vm.bindPopup(function () {
        var rows = c[8].map(function (m) {
          return '<tr><td>' + S[m[0]][0] + '</td><td>' + (m[0] === v ? 'venue' : m[1] + ' min') + '</td><td>' + m[2] + (m[3] ? '<br><span class="cm-names">' + m[3] + '</span>' : '') + '</td></tr>';
        }).join('');
        return '<div class="cm-pop">' + head + '<br>Longest travel: ' + c[6] + ' minutes (' + P.travel + ')' +
          '<table><tr><td><i>Member school</i></td><td><i>Travel</i></td><td><i>Teachers</i></td></tr>' + rows + '</table>' + gen + '</div>';
      });
      g.addLayer(vm); stats.venues++;
    });
    var og = groups['other'];
    if (og) P.o.forEach(function (i) {
      var s = S[i], ll = [s[2], s[3]];
      bounds.extend(ll);
      var mk = L.circleMarker(ll, {renderer: rend, radius: 4, color: '#777', weight: 1, fillColor: '#ccc', fillOpacity: 0.9, className: cls('cm-other')});
      mk.bindTooltip(function () { return s[0] + ' (in no cluster)'; });
      mk.bindPopup(function () { return '<div class="cm-pop"><b>' + sname(i) + '</b><table>' + schoolFacts(i) + '<tr><td>Cluster</td><td>none</td></tr></table>' + editButtons(i, null) + gen + '</div>'; });
      mk.on('click', function () { onSchool(i); });
      og.addLayer(mk); stats.outside++; stats.schools++;
    });
    if (P.chg) {
      var chgGroup = groups['chg'] || groups['np'];
      P.chg.forEach(function (ch) {
        var i = ch[0], s = S[i], ll = [s[2], s[3]];
        var mk = L.circleMarker(ll, {renderer: rend, radius: 11, color: '#ff7f00', weight: 3, fill: false, className: cls('cm-changed')});
        mk.bindTooltip(function () { return s[0] + ': cluster or venue changed'; });
        mk.bindPopup(function () {
          return '<div class="cm-pop"><b>' + sname(i) + '</b> changed<table><tr><td>Before</td><td>' + ch[1] + '</td></tr><tr><td>After</td><td>' + ch[2] + '</td></tr></table></div>';
        });
        if (chgGroup) { chgGroup.addLayer(mk); stats.changed = (stats.changed || 0) + 1; }
      });
    }
    var ng = groups['np'];
    if (ng) P.np.forEach(function (n) {
      var i = n[0], s = S[i], ll = [s[2], s[3]];
      bounds.extend(ll);
      var mk = L.circleMarker(ll, {renderer: rend, radius: 9, color: '#d62728', weight: 3, fillColor: '#fff', fillOpacity: 0.15, className: cls('cm-notplaced')});
      mk.bindTooltip(function () { return s[0] + ': ' + n[1] + ' teacher' + (n[1] == 1 ? '' : 's') + ' not placed'; });
      mk.bindPopup(function () {
        var rows = n[2].map(function (d) {
          return '<tr><td><b>' + d[0] + ' ' + d[1] + '</b>' + (d[4] ? '<br><span class="cm-names">' + d[4] + '</span>' : '') + '</td><td>Why: ' + d[2] + '<br>Suggested change: ' + (d[3] || 'none found') + '</td></tr>';
        }).join('');
        return '<div class="cm-pop"><b class="np">' + sname(i) + ': ' + n[1] + ' teacher' + (n[1] == 1 ? '' : 's') + ' not placed</b><table>' + rows + '</table>' +
          '<table>' + schoolFacts(i) + '</table>' + editButtons(i, null) + gen + '</div>';
      });
      mk.on('click', function () { onSchool(i); });
      ng.addLayer(mk); stats.notPlaced += n[1];
    });
  }

  if (EDIT) editPanel();

  PLANS.forEach(function (pg) {
    var P = pg[0];
    P.typeLabel = {};
    P.types.forEach(function (t) { P.typeLabel[t[0]] = t[1]; });
    addPlan(P, pg[1]);
  });

  if (NET && NETGROUP) {
    var netRend = L.canvas({padding: 0.3});
    var lines = NET.map(function (f) { var o = []; for (var k = 0; k < f.length; k += 2) o.push([f[k], f[k + 1]]); return o; });
    var road = L.polyline(lines, {renderer: netRend, color: '#888', weight: 1, opacity: 0.6, interactive: false});
    NETGROUP.addLayer(road); stats.roads = NET.length;
    if (!bounds.isValid()) bounds = road.getBounds();
  }

  if (CTX) {
    var ctxRend = L.canvas({padding: 0.3});
    function pairs(f) { var o = []; for (var k = 0; k < f.length; k += 2) o.push([f[k], f[k + 1]]); return o; }
    if (CTX.d) CTX.d.forEach(function (d) {
      d[1].forEach(function (ring) {
        CTX.gd.addLayer(L.polygon(ring, {renderer: ctxRend, color: '#333', weight: 2.5, dashArray: '8 5', fill: false, interactive: false}));
      });
      stats.districts = (stats.districts || 0) + 1;
    });
    if (CTX.r) { CTX.gr.addLayer(L.polyline(CTX.r.map(pairs), {renderer: ctxRend, color: '#3b8bd9', weight: 3, opacity: 0.8, interactive: false})); stats.rivers = CTX.r.length; }
    if (CTX.m) {
      CTX.m.forEach(function (r) {
        var line = L.polyline(pairs(r[2]), {renderer: ctxRend, color: r[1] === 'tertiary' ? '#d9a400' : '#e07b00', weight: r[1] === 'tertiary' ? 2.5 : 3.5, opacity: 0.9});
        if (r[0]) line.bindTooltip(r[0] + ' (' + r[1] + ' road)', {sticky: true});
        CTX.gm.addLayer(line);
      });
      stats.mainRoads = CTX.m.length;
    }
    if (CTX.p) {
      CTX.p.forEach(function (p, k) {
        var icon = L.divIcon({className: 'cm-place' + (k >= 40 ? ' minor' : ''), html: '<span>' + p[0] + '</span>', iconSize: null});
        CTX.gp.addLayer(L.marker([p[1], p[2]], {icon: icon, interactive: false, keyboard: false}));
      });
      stats.places = CTX.p.length;
      // zoomed out, only the places with most schools are named (the others when zooming in)
      var few = function () { map.getContainer().classList.toggle('cm-few', map.getZoom() < 11); };
      map.on('zoomend', few); few();
    }
  }

  var P0 = PLANS.length ? PLANS[0][0] : null;
  var legend = L.control({position: 'bottomleft'});
  legend.onAdd = function () {
    var d = L.DomUtil.create('div', 'cm-legend');
    var h = CFG.legendHead;
    h += '<div><span class="cm-sym school"></span>school in a cluster (colour = cluster)</div>' +
      '<div><span class="cm-sym venue"></span>venue: where the cluster meets</div>' +
      '<div><span class="cm-sym line"></span>member school to venue</div>' +
      '<div><span class="cm-sym hull"></span>area of a cluster</div>' +
      '<div><span class="cm-sym np"></span>school with teachers not placed</div>' +
      '<div><span class="cm-sym other"></span>school in no cluster</div>' +
      (NET ? '<div><span class="cm-sym road"></span>road network' + (NETGEN ? ' (generated, not real roads)' : '') + '</div>' : '') +
      (CTX && CTX.m ? '<div><span class="cm-sym mainroad"></span>main road</div>' : '') +
      (CTX && CTX.r ? '<div><span class="cm-sym river"></span>river' + (NETGEN ? ' (generated)' : '') + '</div>' : '') +
      (CTX && CTX.d ? '<div><span class="cm-sym boundary"></span>district boundary</div>' : '') +
      (CTX && CTX.p ? '<div><span class="cm-place-sym">Name</span> place (' + CTX.pnote + ')</div>' : '') +
      (PLANS.some(function (pg) { return pg[0].chg && pg[0].chg.length; }) ? '<div><span class="cm-sym changed"></span>school whose cluster or venue changed from the first scenario</div>' : '');
    h += CFG.legendTail;
    d.innerHTML = h;
    L.DomEvent.disableClickPropagation(d);
    L.DomEvent.disableScrollPropagation(d);
    return d;
  };
  legend.addTo(map);
  if (map.attributionControl) { CFG.attrib.forEach(function (a) { map.attributionControl.addAttribution(a); }); }
  else { var ac = L.control.attribution({prefix: false}).addTo(map); CFG.attrib.forEach(function (a) { ac.addAttribution(a); }); }
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.05));
  // ---- edit mode: mark edits on the map and download them as an edits file (offline: a blob link)
  function editPanel() {
    var E = {on: false, rows: [], pendingApart: null};
    window.clusterMapEdits = E;
    function csvCell(v) { v = String(v == null ? '' : v); return /[",\n\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
    E.csv = function () {
      var head = ['action', 'school_id', 'other_school_id', 'cluster_id', 'minutes', 'note'];
      return [head.join(',')].concat(E.rows.map(function (r) { return head.map(function (k) { return csvCell(r[k]); }).join(','); })).join('\r\n') + '\r\n';
    };
    var box;
    function note(dflt) { var n = box.querySelector('.cm-note').value.trim(); return n || dflt; }
    function add(r) {
      E.rows.push(r); render();
    }
    function render() {
      box.querySelector('.cm-count').textContent = E.rows.length + ' edit' + (E.rows.length == 1 ? '' : 's');
      box.querySelector('.cm-list').innerHTML = E.rows.map(function (r) {
        return '<li>' + [r.action, r.school_id, r.other_school_id, r.cluster_id].filter(Boolean).join(' ').replace(/[&<>"']/g, function (ch) {
          return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[ch]; }) + '</li>';
      }).join('');
      box.querySelector('.cm-hint').textContent = E.pendingApart ? 'Click the school to keep apart from ' + E.pendingApart : '';
    }
    E.school = function (sid) {
      if (!E.on || !E.pendingApart || E.pendingApart === sid) return;
      add({action: 'apart', school_id: E.pendingApart, other_school_id: sid, note: note('marked apart on the map')});
      E.pendingApart = null; render();
    };
    E.download = function () {
      var blob = new Blob([E.csv()], {type: 'text/csv'});
      var a = document.createElement('a');
      a.href = URL.createObjectURL(blob); a.download = 'edits.csv';
      document.body.appendChild(a); a.click(); document.body.removeChild(a);
    };
    var ctl = L.control({position: 'topleft'});
    ctl.onAdd = function () {
      box = L.DomUtil.create('div', 'cm-editbox');
      box.innerHTML = '<label><input type="checkbox" class="cm-toggle"> <b>Edit mode</b></label>' +
        '<div class="cm-body"><div>Click a school, then choose an edit.</div>' +
        '<input class="cm-note" type="text" placeholder="note for the next edit (why)">' +
        '<div><span class="cm-count">0 edits</span> <button type="button" class="cm-download">Download edits (CSV)</button> ' +
        '<button type="button" class="cm-clear">Clear</button></div><div class="cm-hint"></div><ol class="cm-list"></ol>' +
        '<div class="cm-help">Re-plan: cluster-mapper plan ... --revise THIS_PLAN --edits edits.csv</div></div>';
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      box.querySelector('.cm-toggle').addEventListener('change', function (e) { E.on = e.target.checked; box.classList.toggle('on', E.on); map.closePopup(); });
      box.querySelector('.cm-download').addEventListener('click', E.download);
      box.querySelector('.cm-clear').addEventListener('click', function () { E.rows = []; E.pendingApart = null; render(); });
      return box;
    };
    ctl.addTo(map);
    document.addEventListener('click', function (e) {
      var b = e.target.closest ? e.target.closest('[data-cm-edit]') : null;
      if (!b || !E.on) return;
      var k = b.getAttribute('data-cm-edit'), s = b.getAttribute('data-s'), c = b.getAttribute('data-c');
      if (k === 'move') add({action: 'together', school_id: s, other_school_id: b.getAttribute('data-v'), note: note('move to cluster ' + c + ' (marked on the map)')});
      else if (k === 'lock') add({action: 'lock_cluster', cluster_id: c, note: note('locked on the map')});
      else if (k === 'no_venue') add({action: 'no_venue', school_id: s, note: note('cannot host (marked on the map)')});
      else if (k === 'apart') { E.pendingApart = s; render(); }
      map.closePopup();
    });
  }

  stats.builtMs = Math.round(performance.now());
  window.clusterMapStats = stats;
})();
