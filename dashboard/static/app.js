// The Agora dashboard page: it reads the metagraph, the epoch history and
// the validators' scores from the dashboard's API, and follows /events
// (server-sent events) to update live. No library, no build step.
'use strict';

(function () {
  const UNIT = 1e9;      // base units per AGR
  const U16 = 65535;     // u16 fractions are of 65535
  const SVG = 'http://www.w3.org/2000/svg';
  const PALETTE = ['#3b5bdb', '#e8590c', '#2f9e44', '#c2255c', '#7048e8',
    '#0c8599', '#e67700', '#5c940d', '#d6336c', '#1971c2'];

  const state = {
    status: null,          // the latest Status (/api/metagraph)
    epochs: new Map(),     // epoch index → EpochRecord
    scores: null,          // the latest ScoresView
    sort: { key: 'uid', dir: 1 },
    live: 'connecting',
  };

  const $ = (id) => document.getElementById(id);

  // ---- formatting ----
  const nf = (digits) => new Intl.NumberFormat('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits });
  const nf0 = nf(0), nf2 = nf(2), nf4 = nf(4);
  function agr(base) {
    const v = Number(base) / UNIT;
    if (v === 0) return '0';
    if (Math.abs(v) >= 1000) return nf2.format(v);
    if (Math.abs(v) >= 0.0001) return nf4.format(v);
    return v.toExponential(2);
  }
  function pct(u16) { return (Number(u16) / U16 * 100).toFixed(2) + '%'; }
  // share is a mechanism's split as a short percentage: 60%, 33.33%.
  function share(u16) { return nf2.format(Number(u16) / U16 * 100) + '%'; }
  function shortKey(k) { return k && k.length > 14 ? k.slice(0, 6) + '…' + k.slice(-4) : (k || '–'); }
  function color(uid) {
    return uid < PALETTE.length ? PALETTE[uid] : 'hsl(' + ((uid * 137.508) % 360).toFixed(1) + ' 62% 48%)';
  }
  function ago(t) {
    if (!t) return '';
    const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
    if (s < 60) return Math.round(s) + 's ago';
    if (s < 3600) return Math.round(s / 60) + 'm ago';
    return Math.round(s / 3600) + 'h ago';
  }

  // el builds an element: el('td', {class: 'x', title: 't'}, child, 'text', …).
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.dataset[k.slice(5)] = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) {
      if (k === null || k === undefined) continue;
      e.append(k instanceof Node ? k : String(k));
    }
    return e;
  }
  // swatch is a small square of colour c (set through the CSSOM: the
  // page's CSP allows no style attributes).
  function swatch(c) {
    const s = el('span', { class: 'swatch' });
    s.style.background = c;
    return s;
  }
  function svg(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) e.append(k instanceof Node ? k : String(k));
    return e;
  }

  // ---- header and live indicator ----
  function setLive(s) {
    state.live = s;
    renderLive();
  }
  function renderLive() {
    const box = $('live'), text = $('live-text');
    const stale = state.status && state.status.stale;
    let cls = 'connecting', label = 'connecting…';
    if (state.live === 'live') {
      cls = stale ? 'stale' : 'live-ok';
      label = stale ? 'live · chain stale' : 'live';
    } else if (state.live === 'reconnecting') {
      cls = 'connecting'; label = 'reconnecting…';
    } else if (state.live === 'offline') {
      cls = 'offline'; label = 'offline · retrying';
    }
    box.className = 'live ' + cls;
    box.dataset.state = state.live;
    text.textContent = label;
  }
  function renderHeader() {
    const s = state.status;
    if (!s) return;
    $('subnet').textContent = 'subnet ' + s.netuid;
    $('height').textContent = nf0.format(s.height);
    $('epoch').textContent = nf0.format(s.epoch);
    $('next-epoch').textContent = s.next_epoch_block ? 'next at block ' + nf0.format(s.next_epoch_block) : '';
    $('supply').textContent = agr(s.supply.total) + ' AGR';
    $('supply').title = nf0.format(s.supply.total) + ' base units (genesis ' + agr(s.supply.genesis) +
      ', minted ' + agr(s.supply.minted) + ', burned ' + agr(s.supply.burned) + ' AGR)';
    $('neurons').textContent = s.neurons.length + ' / ' + s.subnet.params.max_uids;
    const mechs = s.mechanisms || [];
    $('mechanisms-stat').hidden = mechs.length < 2;
    $('mechanisms').textContent = mechs.map((m) => m.name + ' ' + share(m.split)).join(' · ');
    $('mechanisms').title = 'share of each epoch\'s emission: ' +
      mechs.map((m) => 'mechanism ' + m.mechanism + ' (' + m.name + ') ' + m.split + ' / 65535').join(', ');
    document.title = 'Agora · subnet ' + s.netuid + ' · ' + nf0.format(s.height);
    const banner = $('banner');
    if (s.error) {
      banner.textContent = 'The chain is not answering as it should: ' + s.error;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    renderLive();
  }

  // ---- metagraph table ----
  // With more than one mechanism, the table has a column of each one's
  // incentive after the aggregate's, keyed "incentive:<mechanism>".
  function mechIncentive(n, m) {
    const x = n.mechanisms && n.mechanisms[m];
    return x ? x.incentive : null;
  }
  function sortValue(n, key) {
    if (key === 'hotkey') return n.hotkey;
    if (key.startsWith('incentive:')) return Number(mechIncentive(n, Number(key.slice(10))) ?? -1);
    return Number(n[key]);
  }
  let mechColumns = ''; // the mechanisms the header shows, as JSON
  function renderMechColumns(mechs) {
    const shown = mechs.length > 1 ? mechs : [];
    const sig = JSON.stringify(shown);
    if (sig === mechColumns) return;
    mechColumns = sig;
    for (const th of document.querySelectorAll('#metagraph th[data-mechanism]')) th.remove();
    const after = document.querySelector('#metagraph th[data-key="incentive"]');
    after.after(...shown.map((m) => el('th', {
      'data-key': 'incentive:' + m.mechanism, 'data-type': 'num', 'data-mechanism': m.mechanism, 'aria-sort': 'none',
      title: 'incentive from mechanism ' + m.mechanism + ' (' + m.name + '), which gets ' + share(m.split) +
        ' of the emission (' + m.split + ' / 65535)',
    }, el('button', { type: 'button' }, m.name + ' ', el('small', {}, share(m.split))))));
    if (state.sort.key.startsWith('incentive:') && !shown.some((m) => 'incentive:' + m.mechanism === state.sort.key)) {
      state.sort = { key: 'uid', dir: 1 };
    }
  }
  function renderTable() {
    const s = state.status;
    const body = document.querySelector('#metagraph tbody');
    if (!s) return;
    const mechs = (s.mechanisms || []).length > 1 ? s.mechanisms : [];
    renderMechColumns(mechs);
    const { key, dir } = state.sort;
    const rows = s.neurons.slice().sort((a, b) => {
      const x = sortValue(a, key), y = sortValue(b, key);
      if (x < y) return -dir;
      if (x > y) return dir;
      return a.uid - b.uid;
    });
    const frag = document.createDocumentFragment();
    for (const n of rows) {
      const hot = el('td', {},
        el('span', { class: 'mono', title: n.hotkey }, shortKey(n.hotkey)),
        n.validator_permit ? el('span', { class: 'badge', title: 'validator permit' }, 'validator') : null);
      const since = s.height - n.last_update;
      frag.append(el('tr', { 'data-uid': n.uid },
        el('td', {}, swatch(color(n.uid)), n.uid),
        hot,
        el('td', { title: nf0.format(n.stake) + ' base units' }, agr(n.stake)),
        el('td', { title: n.incentive + ' / 65535' }, pct(n.incentive)),
        ...mechs.map((m) => {
          const v = mechIncentive(n, m.mechanism);
          return v === null ? el('td', { 'data-mechanism': m.mechanism }, '–')
            : el('td', { 'data-mechanism': m.mechanism, title: v + ' / 65535 from ' + m.name }, pct(v));
        }),
        el('td', { title: n.dividends + ' / 65535' }, pct(n.dividends)),
        el('td', { title: nf0.format(n.emission) + ' base units' }, agr(n.emission)),
        el('td', { title: n.validator_trust + ' / 65535' }, pct(n.validator_trust)),
        el('td', {}, n.last_update ? nf0.format(n.last_update) : 'never',
          n.last_update ? el('span', { class: 'ago' }, nf0.format(since) + ' blocks ago') : null)));
    }
    body.replaceChildren(frag);
    $('mg-empty').hidden = s.neurons.length > 0;
    for (const th of document.querySelectorAll('#metagraph th')) {
      th.setAttribute('aria-sort', th.dataset.key === key ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }
  function onSort(ev) {
    const th = ev.target.closest('th[data-key]');
    if (!th) return;
    const key = th.dataset.key;
    if (state.sort.key === key) state.sort.dir = -state.sort.dir;
    else state.sort = { key, dir: th.dataset.type === 'num' && key !== 'uid' ? -1 : 1 };
    renderTable();
  }

  // ---- charts ----
  // niceTicks returns about n round tick values covering [0, max].
  function niceTicks(max, n) {
    if (!(max > 0)) return [0, 1];
    const raw = max / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const ticks = [];
    for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
    if (ticks[ticks.length - 1] < max) ticks.push(+(ticks[ticks.length - 1] + step).toPrecision(12));
    return ticks;
  }
  function epochTicks(lo, hi, n) {
    if (hi <= lo) return [lo];
    const step = Math.max(1, Math.ceil((hi - lo) / n));
    const out = [];
    for (let v = lo; v <= hi; v += step) out.push(v);
    return out;
  }

  // drawChart draws one line per uid of value(uidRecord) over the epochs.
  function drawChart(fig, value, fmt, yLabel) {
    const plot = fig.querySelector('.plot'), legend = fig.querySelector('.legend');
    const recs = [...state.epochs.values()].sort((a, b) => a.epoch - b.epoch);
    if (recs.length === 0) {
      const next = state.status && state.status.next_epoch_block;
      plot.replaceChildren(el('p', { class: 'empty' }, 'No epoch recorded yet' +
        (next ? ': the next runs at block ' + nf0.format(next) + '.' : '.')));
      legend.replaceChildren();
      fig.dataset.epochs = '0';
      return;
    }
    const series = new Map(); // uid → {hotkey, pts: [[epoch, v]]}
    let ymax = 0;
    for (const r of recs) {
      for (const u of r.uids) {
        let s = series.get(u.uid);
        if (!s) { s = { hotkey: u.hotkey, pts: [] }; series.set(u.uid, s); }
        const v = value(u);
        s.hotkey = u.hotkey || s.hotkey;
        s.pts.push([r.epoch, v]);
        ymax = Math.max(ymax, v);
      }
    }
    const W = Math.max(300, Math.round(plot.clientWidth || 480)), H = W < 480 ? 220 : 260;
    const m = { l: 58, r: 14, t: 10, b: 40 };
    const x0 = recs[0].epoch, x1 = recs[recs.length - 1].epoch;
    const yt = niceTicks(ymax, 4), ytop = yt[yt.length - 1];
    const X = (e) => m.l + (x1 === x0 ? (W - m.l - m.r) / 2 : (e - x0) / (x1 - x0) * (W - m.l - m.r));
    const Y = (v) => H - m.b - (ytop > 0 ? v / ytop : 0) * (H - m.t - m.b);

    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': fig.querySelector('figcaption').textContent });
    const grid = svg('g', { class: 'grid' }), axes = svg('g', { class: 'axis' });
    for (const v of yt) {
      grid.append(svg('line', { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v) }));
      axes.append(svg('text', { x: m.l - 6, y: Y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
    }
    for (const e of epochTicks(x0, x1, Math.max(2, Math.floor((W - m.l - m.r) / 70)))) {
      axes.append(svg('line', { x1: X(e), x2: X(e), y1: H - m.b, y2: H - m.b + 4 }));
      axes.append(svg('text', { x: X(e), y: H - m.b + 16, 'text-anchor': 'middle' }, nf0.format(e)));
    }
    axes.append(svg('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
    axes.append(svg('line', { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
    axes.append(svg('text', { class: 'label', x: m.l + (W - m.l - m.r) / 2, y: H - 4, 'text-anchor': 'middle' }, 'epoch'));
    axes.append(svg('text', { class: 'label', transform: 'translate(12 ' + (m.t + (H - m.t - m.b) / 2) + ') rotate(-90)', 'text-anchor': 'middle' }, yLabel));
    root.append(grid, axes);

    const lines = svg('g', {});
    const showPoints = recs.length <= 40;
    const items = [];
    for (const [uid, s] of [...series.entries()].sort((a, b) => a[0] - b[0])) {
      const c = color(uid);
      const title = 'uid ' + uid + (s.hotkey ? ' · ' + s.hotkey : '');
      const g = svg('g', { 'data-uid': uid });
      const line = svg('polyline', { class: 'series', stroke: c, points: s.pts.map(([e, v]) => X(e).toFixed(1) + ',' + Y(v).toFixed(1)).join(' ') },
        svg('title', {}, title));
      g.append(line);
      const pts = showPoints ? s.pts : s.pts.slice(-1);
      for (const [e, v] of pts) {
        g.append(svg('circle', { class: 'point', cx: X(e).toFixed(1), cy: Y(v).toFixed(1), r: 3, fill: c },
          svg('title', {}, title + ' · epoch ' + e + ': ' + fmt(v))));
      }
      lines.append(g);
      const li = el('li', { 'data-uid': uid, title: title }, swatch(c), 'uid ' + uid);
      li.addEventListener('mouseenter', () => highlight(plot, uid));
      li.addEventListener('mouseleave', () => highlight(plot, null));
      items.push(li);
    }
    root.append(lines);
    plot.replaceChildren(root);
    legend.replaceChildren(...items);
    fig.dataset.epochs = String(recs.length);
    fig.dataset.width = String(W);
  }
  function highlight(plot, uid) {
    plot.classList.toggle('dim', uid !== null);
    for (const g of plot.querySelectorAll('g[data-uid]')) {
      const on = uid !== null && g.dataset.uid === String(uid);
      for (const c of g.children) c.classList.toggle('hl', on);
    }
  }
  let chartsQueued = false;
  function renderCharts() {
    if (chartsQueued) return;
    chartsQueued = true;
    requestAnimationFrame(() => {
      chartsQueued = false;
      drawChart($('chart-emission'), (u) => u.emission / UNIT, (v) => agr(v * UNIT), 'AGR');
      drawChart($('chart-incentive'), (u) => u.incentive / U16 * 100, (v) => nf2.format(v) + '%', 'incentive %');
    });
  }

  // ---- scores ----
  // What each reason a validator gives means (scoring.Policy.Judge and the
  // sample_ reasons of scoring.SampleVerdict; validator/query.go for the
  // ones where no answer came), shown on hover. A hard failure costs the
  // miner its whole score for the epoch; no answer, that answer only.
  const HARD = 'hard failure, costs the epoch: ';
  const REASONS = {
    scored: 'passed every check: scored by p(useful) and speed',
    undeclared_model: HARD + 'the answer names a model the subnet does not pay for',
    copy: HARD + 'a near-duplicate of an earlier answer in its round',
    sample_no_tokens: HARD + 'the answer carries no token ids (return_tokens_as_token_ids) to verify',
    sample_bad_token: HARD + 'a token id the declared model does not have',
    sample_tokens_mismatch: HARD + 'the token ids do not spell the text',
    sample_tokenizer_mismatch: HARD + 'the tokens are not how the declared model\'s tokenizer writes the text',
    sample_not_sampled: HARD + 'a token is not the one the declared model\'s sampler draws there with the seed, temperature and top_p asked',
    sample_outside_nucleus: HARD + 'a token outside the top_p nucleus at the temperature asked',
    sample_not_argmax: HARD + 'at temperature 0, a token that is not the most likely one',
    sample_greedy: HARD + 'greedy output when sampling was asked',
    sample_skipped_stop: HARD + 'the answer goes on where the model stops',
    sample_early_stop: HARD + 'the answer claims the model stopped where it does not',
    sample_short: HARD + 'finish "length" before max_tokens',
    sample_too_long: HARD + 'more tokens than max_tokens asked',
    sample_bad_finish: HARD + 'a finish reason other than "stop" or "length"',
    timeout: 'no answer within the deadline: 0 for this answer only',
    unreachable: 'the axon could not be reached: 0 for this answer only',
    bad_signature: 'the answer\'s signature does not check out: 0 for this answer only',
    bad_timestamp: 'the answer was signed outside the request\'s time: 0 for this answer only',
    malformed: 'the answer is not one completion: 0 for this answer only',
  };
  function reasonTitle(r) {
    if (REASONS[r]) return r + ': ' + REASONS[r];
    if (r.startsWith('status_')) return r + ': the miner answered HTTP ' + r.slice(7) + ': 0 for this answer only';
    return r;
  }
  // Green for passed, reds for hard failures (a hue each), greys for no answer.
  function reasonColor(r) {
    let h = 0;
    for (const ch of r) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    if (r === 'scored') return '#2f9e44';
    if (r === 'copy') return '#e8590c';
    if (r === 'undeclared_model' || r.startsWith('sample_')) return 'hsl(' + (335 + h % 40) % 360 + ' 70% ' + (40 + h % 20) + '%)';
    return 'hsl(210 8% ' + (45 + h % 30) + '%)';
  }
  function renderScores() {
    const box = $('scores');
    const vs = (state.scores && state.scores.validators) || [];
    if (vs.length === 0) {
      box.replaceChildren(el('p', { class: 'empty' }, 'No validator status endpoints are configured.'));
      return;
    }
    const cards = vs.map((v) => {
      const sc = v.scores;
      const head = el('header', {},
        el('h3', {}, sc && sc.hotkey ? 'validator ' + (sc.uid >= 0 ? 'uid ' + sc.uid : '(not registered)') : 'validator', ' ',
          el('small', { class: 'mono' }, v.url)),
        el('span', { class: 'state ' + v.state }, v.state),
        el('span', { class: 'meta' }, v.fetched ? 'asked ' + ago(v.fetched) + ' (' + v.latency_ms + ' ms)' : 'not asked yet',
          sc && sc.hotkey ? ' · hotkey ' : '', sc && sc.hotkey ? el('span', { class: 'mono', title: sc.hotkey }, shortKey(sc.hotkey)) : null,
          sc && sc.updated ? ' · scores updated ' + ago(sc.updated) : ''));
      const card = el('article', { class: 'validator' + (v.state === 'error' ? ' failed' : ''), 'data-url': v.url, 'data-state': v.state }, head);
      if (v.error) {
        card.append(el('p', { class: 'fetch-error', role: 'alert' }, v.error +
          (sc ? ' — showing the last good answer, from ' + ago(v.last_ok) : '')));
      }
      if (!sc) return card;
      if (sc.scores.length === 0) {
        card.append(el('p', { class: 'empty' }, 'No uid scored yet.'));
        return card;
      }
      const rows = sc.scores.slice().sort((a, b) => b.score - a.score || a.uid - b.uid).map((s) => {
        const bar = el('span', { class: 'bar' }, el('span'));
        bar.firstChild.style.width = Math.max(0, Math.min(1, s.score)) * 100 + '%';
        const reasons = Object.entries(s.reasons || {}).sort((a, b) => b[1] - a[1]);
        const total = reasons.reduce((t, [, n]) => t + n, 0);
        const stack = el('span', { class: 'reasons', title: reasons.map(([r, n]) => r + ' ' + n).join(', ') });
        for (const [r, n] of reasons) {
          const seg = el('span', { title: reasonTitle(r) + ' (' + n + ')' });
          seg.style.width = (total ? n / total * 100 : 0) + '%';
          seg.style.background = reasonColor(r);
          stack.append(seg);
        }
        const kinds = Object.entries(s.by_kind || {}).map(([k, x]) => k + ' ' + x.toFixed(2)).join(' · ');
        return el('tr', { 'data-uid': s.uid },
          el('td', {}, s.uid),
          el('td', {}, el('span', { class: 'mono', title: s.hotkey }, shortKey(s.hotkey))),
          el('td', {}, s.score.toFixed(3), bar, s.failed_epoch
            ? el('span', { class: 'badge failed-epoch', title: 'failed a hard check this epoch: its score is 0 until the next epoch, even after answers that pass' }, 'failed this epoch')
            : null),
          el('td', {}, el('span', { class: 'kinds' }, kinds || '–')),
          el('td', { class: 'last-reason' }, s.last_reason || '–'),
          el('td', {}, stack),
          el('td', { class: 'reason-list' }, ...(reasons.length ? reasons.flatMap(([r, n], i) =>
            [i ? ' · ' : null, el('span', { title: reasonTitle(r) }, r + ' ' + nf0.format(n))]) : ['–'])));
      });
      card.append(el('div', { class: 'table-wrap' }, el('table', { class: 'data scores' },
        el('thead', {}, el('tr', {}, el('th', {}, 'UID'), el('th', {}, 'Hotkey'), el('th', {}, 'Score'),
          el('th', {}, 'By kind'), el('th', {}, 'Last reason'), el('th', {}, 'Reasons'), el('th', {}, 'Counts'))),
        el('tbody', {}, ...rows))));
      return card;
    });
    box.replaceChildren(...cards);
  }

  // ---- data ----
  function onStatus(s) {
    state.status = s;
    renderHeader();
    renderTable();
    if (state.epochs.size === 0) renderCharts(); // the empty chart names the next epoch's block
  }
  function addEpoch(r) {
    state.epochs.set(r.epoch, r);
    renderCharts();
  }
  async function getJSON(path) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 10000);
    try {
      const res = await fetch(path, { signal: ctl.signal, cache: 'no-store' });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || res.statusText);
      return body;
    } finally {
      clearTimeout(timer);
    }
  }
  async function loadHistory() {
    try {
      const h = await getJSON('api/history');
      const keep = new Set();
      for (const r of h.epochs) { state.epochs.set(r.epoch, r); keep.add(r.epoch); }
      // Drop what the server no longer holds, but keep epochs that came
      // by event while the request was out.
      const oldest = h.epochs.length ? h.epochs[0].epoch : Infinity;
      for (const e of [...state.epochs.keys()]) if (e < oldest && !keep.has(e)) state.epochs.delete(e);
      renderCharts();
    } catch (err) {
      console.warn('history:', err);
    }
  }
  async function loadStatus() {
    try {
      onStatus(await getJSON('api/metagraph'));
    } catch (err) {
      const banner = $('banner');
      banner.textContent = 'Waiting for the chain: ' + err.message;
      banner.hidden = false;
    }
  }

  // ---- live updates ----
  let source = null, backoff = 1000, retryTimer = 0;
  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    setLive(state.live === 'offline' ? 'offline' : 'connecting');
    const es = new EventSource('events');
    source = es;
    es.onopen = () => {
      backoff = 1000;
      setLive('live');
      loadHistory();
    };
    es.addEventListener('metagraph', (e) => onStatus(JSON.parse(e.data)));
    es.addEventListener('epoch', (e) => addEpoch(JSON.parse(e.data)));
    es.addEventListener('scores', (e) => { state.scores = JSON.parse(e.data); renderScores(); });
    es.onerror = () => {
      if (es !== source) return;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (the server answered with an error): retry
        // ourselves, backing off.
        es.close();
        setLive('offline');
        retryTimer = setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 30000);
      } else {
        setLive('reconnecting'); // the browser retries by itself
      }
    };
  }

  document.querySelector('#metagraph thead').addEventListener('click', onSort);
  // Charts are drawn at their box's width (so text stays readable on a
  // phone): redraw when the width changes.
  const drawnWidth = new Map();
  const resized = new ResizeObserver((entries) => {
    for (const e of entries) {
      const w = Math.round(e.contentRect.width);
      if (drawnWidth.get(e.target) !== w) {
        drawnWidth.set(e.target, w);
        renderCharts();
      }
    }
  });
  for (const p of document.querySelectorAll('.plot')) resized.observe(p);
  // Relative times in the scores age; refresh them now and then.
  setInterval(() => { if (state.scores) renderScores(); }, 5000);
  renderLive();
  renderCharts();
  loadStatus();
  connect();
})();
