// Draws the page's charts with uPlot from the JSON the page carries (#ops-data). The numbers are
// in the page's tables too: without JavaScript the page still reads.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('ops-data').textContent);
  var COLORS = { ok: '#2f7d32', failed: '#c62828', rolledBack: '#ef6c00', rollback: '#1565c0', line: '#37474f', ideal: '#9e9e9e' };
  var PALETTE = ['#1565c0', '#2f7d32', '#ef6c00', '#6a1b9a', '#c62828', '#00838f'];
  var drawn = 0;

  function width(el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width) || 600);
  }

  function hours(ms) {
    return ms == null ? null : ms / 3600000;
  }

  function seconds(iso) {
    return Date.parse(iso) / 1000;
  }

  // A time axis around a single moment would span years: give it an hour either side.
  function timeRange(u, min, max) {
    return min === max ? [min - 3600, max + 3600] : [min, max];
  }

  function plot(el, options, values) {
    options.scales = options.scales || {};
    if (!options.scales.x) options.scales.x = { range: timeRange };
    options.width = width(el);
    options.height = options.height || 220;
    el.textContent = '';
    new uPlot(options, values, el);
    drawn++;
  }

  var points = function (color) {
    return { stroke: color, fill: color, width: 0, paths: function () { return null; }, points: { show: true, size: 8, stroke: color, fill: color } };
  };

  var CHARTS = {
    // One key over the window's buckets.
    series: function (el) {
      var series = data.metrics.series;
      var key = el.getAttribute('data-key');
      var x = series.map(function (p) { return seconds(p.since); });
      var y = series.map(function (p) {
        if (key === 'deployments') return p.deployments;
        if (key === 'leadTime') return hours(p.leadTimeMedianMs);
        if (key === 'changeFailureRate') return p.changeFailureRate == null ? null : p.changeFailureRate * 100;
        return hours(p.timeToRestoreMedianMs);
      });
      var label = { deployments: 'deployments', leadTime: 'median lead time (h)', changeFailureRate: 'change failure rate (%)', timeToRestore: 'median time to restore (h)' }[key];
      var line = { label: label, stroke: COLORS.line, width: 2, spanGaps: false, points: { show: true, size: 6 } };
      if (key === 'deployments') {
        line.fill = 'rgba(21,101,192,0.35)';
        line.stroke = PALETTE[0];
        line.paths = uPlot.paths.bars({ size: [0.6, 40] });
        line.points = { show: false };
      }
      plot(el, { title: label, series: [{}, line], scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max || 0) * 1.1]; } } } }, [x, y]);
    },

    // Releases on a lane per service and environment, coloured by what became of them.
    timeline: function (el) {
      var releases = data.timeline.slice().sort(function (a, b) { return a.at - b.at; });
      var lanes = [];
      releases.forEach(function (r) { if (lanes.indexOf(r.lane) < 0) lanes.push(r.lane); });
      lanes.sort();
      var kinds = [['ok', 'live'], ['failed', 'failed'], ['rolledBack', 'rolled back'], ['rollback', 'rollback']];
      var x = releases.map(function (r) { return r.at / 1000; });
      var ys = kinds.map(function (k) {
        return releases.map(function (r) { return r.kind === k[0] ? lanes.indexOf(r.lane) : null; });
      });
      var series = [{}].concat(kinds.map(function (k) { return Object.assign({ label: k[1] }, points(COLORS[k[0]])); }));
      plot(
        el,
        {
          title: 'releases',
          height: 80 + 40 * lanes.length,
          series: series,
          scales: { y: { range: [-0.5, lanes.length - 0.5] } },
          axes: [{}, { size: 140, splits: function () { return lanes.map(function (_, i) { return i; }); }, values: function (u, splits) { return splits.map(function (i) { return lanes[i] || ''; }); } }],
        },
        [x].concat(ys),
      );
    },

    // Incidents: time to restore against when each began.
    restore: function (el) {
      var incidents = data.incidents.filter(function (i) { return i.restoreMs != null; }).sort(function (a, b) { return a.beganAt - b.beganAt; });
      var x = incidents.map(function (i) { return i.beganAt / 1000; });
      var y = incidents.map(function (i) { return hours(i.restoreMs); });
      plot(el, { title: 'time to restore per incident (h)', series: [{}, Object.assign({ label: 'hours' }, points(COLORS.failed))], scales: { y: { range: function (u, min, max) { return [0, Math.max(0.1, max || 0) * 1.2]; } } } }, [x, y]);
    },

    // Predicted risk decile against the failure rate observed in it; the diagonal is a perfect scorer.
    calibration: function (el) {
      var bins = data.metrics.risk.calibration;
      var x = bins.map(function (b) { return (b.from + b.to) / 2; });
      plot(
        el,
        {
          title: 'risk calibration',
          scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
          series: [
            { label: 'predicted' },
            { label: 'perfect', stroke: COLORS.ideal, dash: [6, 6], width: 1, points: { show: false } },
            { label: 'observed failure rate', stroke: COLORS.failed, width: 2, spanGaps: true, points: { show: true, size: 8 } },
          ],
        },
        [x, x, bins.map(function (b) { return b.failureRate; })],
      );
    },

    // A model's numeric metrics over its versions.
    model: function (el) {
      var model = data.models.filter(function (m) { return m.name === el.getAttribute('data-model'); })[0];
      var versions = model.versions.slice().sort(function (a, b) { return a.version - b.version; });
      var names = model.chartMetrics;
      var x = versions.map(function (v) { return v.version; });
      var series = [{ label: 'version' }].concat(names.map(function (name, i) {
        return { label: name, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: true, size: 6 } };
      }));
      var ys = names.map(function (name) {
        return versions.map(function (v) { return v.metrics && typeof v.metrics[name] === 'number' ? v.metrics[name] : null; });
      });
      plot(
        el,
        {
          title: model.name + ' metrics by version',
          scales: { x: { time: false, range: function (u, min, max) { return [min - 0.5, max + 0.5]; } } },
          axes: [{ incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, {}],
          series: series,
        },
        [x].concat(ys),
      );
    },
  };

  document.querySelectorAll('[data-chart]').forEach(function (el) {
    CHARTS[el.getAttribute('data-chart')](el);
  });
  document.documentElement.setAttribute('data-charts-drawn', String(drawn));
  performance.mark('ops-charts-drawn');

  // `ops ui`: reload when the ledger changed (another ops process wrote to it).
  var live = document.querySelector('meta[name="ops-live"]');
  if (live) {
    var version = live.getAttribute('content');
    setInterval(function () {
      fetch('/api/version', { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (v) { if (v && v.version !== version) location.reload(); })
        .catch(function () {});
    }, Number(live.getAttribute('data-interval-ms')) || 5000);
  }
})();
