// The report site's browser code (plain ES5-style script, no modules: pages open from file://).
// Trend pages: one chart per <script class="rig-trend"> block. The "what changed" page: compares
// two runs of window.RIG_SITE (data/site.js). `rigSite.compare` is also loaded by the unit tests.
((root) => {
  function scaleOf(meta, noise, a, b) {
    if (noise) return noise.scale;
    if (meta?.scale) return meta.scale;
    return a > 0 && b > 0 ? 'log' : 'linear';
  }

  /**
   * Every figure in both runs: its change, and whether it moved beyond its noise (2 x sqrt 2
   * calibrated spreads for the difference of two runs; without a spread, the 95% intervals do not
   * overlap). Returns { moved, steady, onlyOne }, moved sorted by the size of the change.
   */
  function compare(site, idA, idB) {
    const history = site.history;
    let a = null;
    let b = null;
    history.runs.forEach((r) => {
      if (r.id === idA) a = r;
      if (r.id === idB) b = r;
    });
    if (!a || !b) return null;
    const noiseTable = site.noise?.[b.profile] || {};
    const moved = [];
    const steady = [];
    let onlyOne = 0;
    const ids = {};
    Object.keys(a.figures).forEach((id) => {
      ids[id] = true;
    });
    Object.keys(b.figures).forEach((id) => {
      ids[id] = true;
    });
    Object.keys(ids)
      .sort()
      .forEach((id) => {
        const pa = a.figures[id];
        const pb = b.figures[id];
        if (!pa || !pb) {
          onlyOne++;
          return;
        }
        const meta = history.figures[id] || { unit: '', better: 'lower' };
        const noise = noiseTable[id];
        const scale = scaleOf(meta, noise, pa[0], pb[0]);
        const delta = scale === 'log' ? Math.log(pb[0] / pa[0]) : pb[0] - pa[0];
        const relative = scale === 'log' ? Math.exp(delta) - 1 : pa[0] !== 0 ? delta / Math.abs(pa[0]) : null;
        let widths = null;
        let beyond;
        let by;
        if (!pa[3] || !pb[3]) {
          beyond = false;
          by = 'no verdict in one run';
        } else if (noise) {
          widths = Math.abs(delta) / (noise.spread * Math.SQRT2);
          beyond = widths > 2;
          by = 'calibrated noise (' + noise.runs + ' A/A runs)';
        } else if (pa[1] !== null && pb[1] !== null) {
          beyond = pb[1] > pa[2] || pb[2] < pa[1];
          by = '95% intervals';
        } else {
          beyond = false;
          by = 'no noise estimate';
        }
        const up = delta > 0;
        const entry = {
          id: id,
          unit: meta.unit,
          from: pa[0],
          to: pb[0],
          delta: delta,
          relative: relative,
          widths: widths,
          by: by,
          worse: delta !== 0 && (meta.better === 'lower' ? up : !up),
        };
        (beyond ? moved : steady).push(entry);
      });
    const size = (e) => (e.relative !== null ? Math.abs(e.relative) : Math.abs(e.delta));
    moved.sort((x, y) => size(y) - size(x));
    steady.sort((x, y) => size(y) - size(x));
    return { a: a, b: b, moved: moved, steady: steady, onlyOne: onlyOne };
  }

  function fmt(v, unit) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '-';
    const abs = Math.abs(v);
    const s = abs >= 1e4 || (abs > 0 && abs < 1e-2) ? v.toExponential(2) : v.toPrecision(4);
    return s + (unit ? ' ' + unit : '');
  }

  function changeText(e) {
    if (e.relative !== null) return (e.relative >= 0 ? '+' : '') + (e.relative * 100).toFixed(1) + '%';
    return (e.delta >= 0 ? '+' : '') + fmt(e.delta, e.unit);
  }

  function el(doc, tag, text, cls) {
    const x = doc.createElement(tag);
    if (text !== undefined) x.textContent = text;
    if (cls) x.className = cls;
    return x;
  }

  function fillTable(doc, tbody, entries) {
    tbody.textContent = '';
    entries.forEach((e) => {
      const tr = el(doc, 'tr');
      tr.setAttribute('data-figure', e.id);
      const td = el(doc, 'td');
      const link = el(doc, 'a', e.id);
      link.href = 'figures/' + encodeURIComponent(e.id) + '.html';
      td.appendChild(link);
      tr.appendChild(td);
      tr.appendChild(el(doc, 'td', fmt(e.from, e.unit), 'num'));
      tr.appendChild(el(doc, 'td', fmt(e.to, e.unit), 'num'));
      tr.appendChild(el(doc, 'td', changeText(e), e.worse ? 'num bad' : 'num good'));
      tr.appendChild(el(doc, 'td', e.widths === null ? '-' : e.widths.toFixed(1), 'num'));
      tr.appendChild(el(doc, 'td', e.by));
      tbody.appendChild(tr);
    });
  }

  function changesPage(doc, site) {
    const params = new URLSearchParams(root.location.search);
    const runs = site.history.runs;
    if (runs.length === 0) return;
    const b = params.get('b') || runs[runs.length - 1].id;
    const bRun = runs.filter((r) => r.id === b)[0];
    let a = params.get('a');
    if (!a) {
      // The run before b on b's trend line (profile and platform), else simply the run before it.
      const same = runs.filter(
        (r) =>
          bRun && r.profile === bRun.profile && r.platform === bRun.platform && r.startedAt < bRun.startedAt,
      );
      a = same.length ? same[same.length - 1].id : runs.length > 1 ? runs[runs.length - 2].id : b;
    }
    doc.getElementById('run-a').value = a;
    doc.getElementById('run-b').value = b;
    const result = compare(site, a, b);
    const summary = doc.getElementById('compare-summary');
    if (!result) {
      summary.textContent = 'No such run in the kept history: ' + a + ' or ' + b + '.';
      return;
    }
    fillTable(doc, doc.querySelector('#moved tbody'), result.moved);
    fillTable(doc, doc.querySelector('#steady tbody'), result.steady);
    summary.textContent =
      result.moved.length +
      ' of ' +
      (result.moved.length + result.steady.length) +
      ' figures in both runs moved beyond their noise (' +
      result.moved.filter((e) => e.worse).length +
      ' for the worse); ' +
      result.onlyOne +
      ' figures are in one run only.' +
      (result.a.profile !== result.b.profile
        ? ' The runs are of different profiles: their figures are not measured alike.'
        : '');
    doc.body.setAttribute('data-compared', 'true');
  }

  // A vertical dashed line between the last run before a change and the first run after it.
  const changeMarks = {
    id: 'rigChanges',
    afterDatasetsDraw: (chart) => {
      const marks = chart.options.plugins.rigChanges;
      if (!marks?.length) return;
      const x = chart.scales.x;
      const area = chart.chartArea;
      const ctx = chart.ctx;
      marks.forEach((m) => {
        const px = (x.getPixelForValue(m.index - 1) + x.getPixelForValue(m.index)) / 2;
        ctx.save();
        ctx.strokeStyle = '#cf222e';
        ctx.setLineDash([5, 4]);
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        ctx.fillStyle = '#cf222e';
        ctx.font = '12px system-ui, sans-serif';
        ctx.fillText(m.label, px + 4, area.top + 12);
        ctx.restore();
      });
    },
  };

  function trendChart(doc, data) {
    const canvas = doc.getElementById(data.canvas);
    if (!canvas) return null;
    const labels = data.points.map((p) => p.startedAt.slice(5, 16).replace('T', ' '));
    const constant = (v) => data.points.map(() => v);
    const datasets = [];
    const hasCi = data.points.some((p) => p.lo !== null);
    if (data.noise) {
      datasets.push({
        label: 'noise -2σ',
        data: constant(data.noise.lo),
        borderColor: '#afb8c1',
        borderWidth: 1,
        pointRadius: 0,
        rigRole: 'band',
      });
      datasets.push({
        label: 'baseline ± 2σ noise',
        data: constant(data.noise.hi),
        borderColor: '#afb8c1',
        borderWidth: 1,
        pointRadius: 0,
        backgroundColor: 'rgba(175,184,193,0.25)',
        fill: '-1',
        rigRole: 'band',
      });
    }
    if (hasCi) {
      datasets.push({
        label: 'CI low',
        data: data.points.map((p) => p.lo),
        borderWidth: 0,
        pointRadius: 0,
        rigRole: 'band',
      });
      datasets.push({
        label: '95% CI',
        data: data.points.map((p) => p.hi),
        borderWidth: 0,
        pointRadius: 0,
        backgroundColor: 'rgba(9,105,218,0.15)',
        fill: '-1',
        rigRole: 'band',
      });
    }
    data.thresholds.forEach((t) => {
      datasets.push({
        label: 'threshold ' + t.text,
        data: constant(t.value),
        borderColor: '#bc4c00',
        borderDash: [6, 4],
        borderWidth: 1.5,
        pointRadius: 0,
        rigRole: 'threshold',
      });
    });
    datasets.push({
      label: data.figure,
      data: data.points.map((p) => p.value),
      borderColor: '#0969da',
      backgroundColor: data.points.map((p) => (p.injected ? '#bc4c00' : '#0969da')),
      pointRadius: data.points.map((p) => (p.valid ? 4 : 3)),
      pointStyle: data.points.map((p) => (p.valid ? 'circle' : 'crossRot')),
      pointHoverRadius: 7,
      tension: 0,
      rigRole: 'value',
    });
    const valueIndex = datasets.length - 1;
    const chart = new root.Chart(canvas, {
      type: 'line',
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        onHover: (event, elements) => {
          const onPoint = elements.some((e) => e.datasetIndex === valueIndex && data.points[e.index].href);
          event.native.target.style.cursor = onPoint ? 'pointer' : 'default';
        },
        onClick: (_event, elements) => {
          const hit = elements.filter((e) => e.datasetIndex === valueIndex)[0];
          if (hit && data.points[hit.index].href) root.location.href = data.points[hit.index].href;
        },
        plugins: {
          legend: {
            labels: {
              filter: (item) => item.text !== 'CI low' && item.text !== 'noise -2σ',
            },
          },
          rigChanges: data.changes,
          tooltip: {
            filter: (item) => item.datasetIndex === valueIndex,
            callbacks: {
              title: (items) => (items.length ? 'run ' + data.points[items[0].dataIndex].run : ''),
              label: (item) => {
                const p = data.points[item.dataIndex];
                return (
                  fmt(p.value, data.unit) +
                  (p.lo !== null ? '  [' + fmt(p.lo, data.unit) + ', ' + fmt(p.hi, data.unit) + ']' : '')
                );
              },
              afterLabel: (item) => {
                const p = data.points[item.dataIndex];
                const lines = [
                  'started ' + p.startedAt,
                  'commit ' + (p.commit || '-') + (p.branch ? ' on ' + p.branch : ''),
                ];
                if (!p.valid) lines.push('no verdict (untrustworthy measurement)');
                if (p.injected) lines.push('injected slowdown +' + Math.round(p.injected * 100) + '%');
                if (p.href) lines.push('click: the run report');
                return lines;
              },
            },
          },
        },
        scales: {
          y: { title: { display: true, text: data.unit } },
          x: { title: { display: true, text: 'run start (UTC)' } },
        },
      },
    });
    canvas.setAttribute('data-rendered', 'true');
    return chart;
  }

  function start(doc) {
    const charts = {};
    root.rigCharts = charts;
    if (root.Chart) {
      root.Chart.register(changeMarks);
      Array.prototype.forEach.call(doc.querySelectorAll('script.rig-trend'), (node) => {
        const data = JSON.parse(node.textContent);
        const chart = trendChart(doc, data);
        if (chart) charts[data.canvas] = chart;
      });
    }
    if (root.RIG_SITE && doc.getElementById('moved')) changesPage(doc, root.RIG_SITE);
  }

  root.rigSite = { compare: compare };
  if (root.document) start(root.document);
})(typeof window !== 'undefined' ? window : globalThis);
