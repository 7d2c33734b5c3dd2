/// The control plane's dashboard, served at GET /: one self-contained page (HTML, CSS and plain
/// JavaScript; nothing fetched from elsewhere) that polls the REST API every 500 ms with the token
/// it is given (kept in the tab's sessionStorage, sent as `Authorization: Bearer`): the touch and
/// our best quote of a chosen instrument as a ladder, the fills tape (each execution, /v1/fills),
/// positions, a PnL chart, tick-to-trade and command-to-applied percentiles,
/// risk limits with their usage, the chosen instrument's quoting parameters with a form to change
/// them (PUT /v1/instruments/{symbol}/params) and to start or stop its quoting (POST
/// /v1/instruments/{symbol}/quoting), and the kill button (POST /v1/kill); a refusal is shown as
/// the server gave it.
///
/// The page reads its fragment: `#token=T` stores T and drops it from the address, `symbol=S`
/// chooses the instrument, `spread_ticks=N`, `size=N`, `skew_shares=N`, `max_position=N` fill the
/// parameter form, and `press=kill`, `press=params`, `press=quoting-off` or `press=quoting-on`
/// clicks the page's own button once the first data has loaded (headless tests drive the real
/// handlers that way).
enum Dashboard {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>OmniAlpha control plane</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
      :root { --bg: #0f1419; --panel: #182029; --line: #2a3542; --text: #d8dee6; --dim: #8594a5; --bid: #3fb37f; --ask: #e0605e;
              --ours: #f0b429; --warn: #e8a33d; --bad: #e0605e; --ok: #3fb37f; }
      * { box-sizing: border-box; }
      body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.4 system-ui, sans-serif; }
      header { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; padding: 10px 16px; border-bottom: 1px solid var(--line); }
      h1 { font-size: 16px; margin: 0 12px 0 0; }
      h2 { font-size: 13px; margin: 0 0 8px; color: var(--dim); text-transform: uppercase; letter-spacing: .05em; }
      input, select, button { font: inherit; background: #0b0f13; color: var(--text); border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; }
      button { cursor: pointer; }
      #kill { background: #b3261e; border-color: #e0605e; color: #fff; font-weight: 700; padding: 8px 20px; letter-spacing: .08em; }
      #kill-result, #params-result { font-weight: 600; }
      #params-form { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px; margin-top: 8px; }
      #params-form label { display: flex; flex-direction: column; color: var(--dim); font-size: 12px; }
      #params-form input { width: 110px; }
      .ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); } .dim { color: var(--dim); }
      #strip { display: flex; flex-wrap: wrap; gap: 18px; padding: 8px 16px; border-bottom: 1px solid var(--line); }
      #strip b { font-variant-numeric: tabular-nums; }
      #killed { display: none; background: #b3261e; color: #fff; padding: 6px 16px; font-weight: 700; }
      main { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 12px; padding: 12px 16px; }
      section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; overflow-x: auto; }
      table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
      th, td { padding: 2px 6px; text-align: right; border-bottom: 1px solid #1f2933; white-space: nowrap; }
      th { color: var(--dim); font-weight: 500; }
      th:first-child, td:first-child { text-align: left; }
      #ladder td { text-align: center; width: 20%; }
      #ladder tr.spread td { background: #141b22; }
      #ladder td.bid { color: var(--bid); font-weight: 700; } #ladder td.ask { color: var(--ask); font-weight: 700; }
      #ladder td.ours { color: #111; background: var(--ours); font-weight: 700; }
      #ladder td.price { color: var(--text); }
      .note { color: var(--dim); font-size: 12px; margin-top: 6px; }
      .usage { display: flex; align-items: center; gap: 8px; justify-content: flex-end; }
      .bar { position: relative; height: 14px; width: 80px; background: #0b0f13; border: 1px solid var(--line); border-radius: 3px; }
      .bar > span { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 2px; }
      canvas { width: 100%; height: 220px; display: block; }
      #tape { max-height: 260px; overflow: auto; }
    </style>
    </head>
    <body>
    <header>
      <h1>OmniAlpha control plane</h1>
      <label>Token <input id="token-input" type="password" size="28" placeholder="API token" autocomplete="off"></label>
      <button id="token-use">Use token</button> <button id="token-forget">Forget</button>
      <span id="token-state" class="dim"></span>
      <span style="flex: 1"></span>
      <button id="kill" title="Cancels every open order and sends nothing until a risk officer resets it (a trader, risk officer or admin token)">KILL</button>
      <span id="kill-result"></span>
    </header>
    <div id="killed"></div>
    <div id="strip"><span id="message" class="dim">loading…</span></div>
    <main>
      <section>
        <h2>Book ladder <select id="symbol"></select></h2>
        <table id="ladder"><thead><tr><th>our bid</th><th>bid</th><th>price</th><th>ask</th><th>our ask</th></tr></thead><tbody></tbody></table>
        <div class="note">The touch only: the loop's snapshot holds each instrument's best bid and ask prices, no depth and no sizes. Our quote is our best order on each side with its shares left.</div>
      </section>
      <section>
        <h2>Quoting parameters <span id="params-symbol"></span></h2>
        <table id="params"><thead><tr><th>parameter</th><th>now</th></tr></thead><tbody></tbody></table>
        <div id="params-form">
          <label>spread_ticks <input id="param-spread_ticks" inputmode="numeric" autocomplete="off"></label>
          <label>size <input id="param-size" inputmode="numeric" autocomplete="off"></label>
          <label>skew_shares <input id="param-skew_shares" inputmode="numeric" autocomplete="off"></label>
          <label>max_position <input id="param-max_position" inputmode="numeric" autocomplete="off"></label>
          <button id="params-set" title="PUT /v1/instruments/{symbol}/params with the values filled in (a trader, risk officer or admin token)">Set</button>
          <button id="quoting-off" title="POST /v1/instruments/{symbol}/quoting {quoting: false}: its orders canceled">Stop quoting</button>
          <button id="quoting-on" title="POST /v1/instruments/{symbol}/quoting {quoting: true}">Start quoting</button>
        </div>
        <div id="params-result"></div>
        <div class="note">Only the values filled in are sent; the rest stay as they are. Ticks from the mid on each side; size in shares.</div>
      </section>
      <section>
        <h2>PnL (net, realised) since this page opened</h2>
        <canvas id="pnl" width="800" height="220"></canvas>
        <div id="pnl-now" class="note"></div>
      </section>
      <section>
        <h2>Positions</h2>
        <table id="positions"><thead><tr><th>symbol</th><th>position</th><th>bought</th><th>sold</th><th>fills</th><th>working buy</th><th>working sell</th><th>net PnL $</th></tr></thead><tbody></tbody></table>
      </section>
      <section>
        <h2>Risk limits and their usage</h2>
        <table id="limits"><thead><tr><th>symbol</th><th>max position</th><th>position / max</th><th>max order qty</th><th>our order / max</th></tr></thead><tbody></tbody></table>
        <div class="note">Position usage: |position| against max_position; order usage: our larger quote's shares against max_order_qty.</div>
      </section>
      <section>
        <h2>Fills tape</h2>
        <div id="tape"><table><thead><tr><th>time</th><th>symbol</th><th>side</th><th>shares</th><th>price</th><th>left</th><th>liquidity</th><th>match</th></tr></thead><tbody></tbody></table></div>
        <div class="note">Each execution of ours, newest first, from /v1/fills (the loop's order journal; the last 256).</div>
      </section>
      <section>
        <h2>Latency percentiles</h2>
        <svg id="latency" width="100%" height="150"></svg>
      </section>
    </main>
    <script>
    'use strict';
    const POLL_MS = 500, TICK = 0.01, LADDER_MAX_ROWS = 31, PNL_POINTS = 1200, TAPE_ROWS = 200;
    const $ = id => document.getElementById(id);
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.has('token')) {
      sessionStorage.setItem('omni-token', fragment.get('token'));
      fragment.delete('token');
      history.replaceState(null, '', location.pathname + location.search + (fragment.toString() ? '#' + fragment : ''));
    }
    const token = () => sessionStorage.getItem('omni-token') || '';
    let symbol = fragment.get('symbol') || '';
    const press = fragment.get('press');
    const PARAMS = ['spread_ticks', 'size', 'skew_shares', 'max_position'];
    for (const p of PARAMS) if (fragment.has(p)) $('param-' + p).value = fragment.get(p);
    let pressed = false, killedNow = false;
    const pnlSeries = [];

    function esc(s) { return String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'})[c]); }
    function say(text, cls) { const m = $('message'); m.textContent = text; m.className = cls || ''; }
    function money(v) { return (v < 0 ? '-' : '') + Math.abs(v).toFixed(2); }
    function usd(v) { return (v < 0 ? '-$' : '$') + Math.abs(v).toFixed(2); }
    function ns(v) { return v >= 1e6 ? (v / 1e6).toFixed(2) + ' ms' : v >= 1e3 ? (v / 1e3).toFixed(1) + ' µs' : v + ' ns'; }
    function usageBar(used, max) {
      const f = max > 0 ? Math.min(used / max, 1) : 1;
      const colour = f >= 0.8 ? 'var(--bad)' : f >= 0.5 ? 'var(--warn)' : 'var(--ok)';
      return `<div class="usage"><span class="dim">${used} / ${max} (${max > 0 ? (100 * used / max).toFixed(0) : '∞'}%)</span>` +
             `<div class="bar" title="${used} of ${max}"><span style="width:${(f * 100).toFixed(1)}%;background:${colour}"></span></div></div>`;
    }
    function showToken() {
      $('token-state').textContent = token() ? 'token set (this tab only)' : 'no token';
      $('token-state').className = token() ? 'ok' : 'bad';
    }

    async function api(path, method, body) {
      const headers = {Authorization: 'Bearer ' + token()};
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const r = await fetch(path, {method: method || 'GET', headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body)});
      let answer = {};
      try { answer = await r.json(); } catch (e) { answer = {}; }
      return {status: r.status, ok: r.ok, body: answer};
    }

    async function kill() {
      const out = $('kill-result');
      out.dataset.status = '';
      if (!token()) { out.textContent = 'No token: enter a trader, risk officer or admin token first'; out.className = 'bad'; return; }
      out.textContent = 'sending kill…'; out.className = 'warn';
      let r;
      try { r = await api('/v1/kill', 'POST'); } catch (e) { out.textContent = 'kill NOT sent: ' + e; out.className = 'bad'; return; }
      out.dataset.status = r.status;
      if (r.ok) {
        out.textContent = `KILL SWITCH ON (${r.body.reason}), config version ${r.body.config_version}`;
        out.className = 'ok';
      } else {
        const word = {401: 'Unauthorized', 403: 'Forbidden'}[r.status] || 'refused';
        out.textContent = `${r.status} ${word}: ${r.body.error || 'no message'} (kill NOT applied)`;
        out.className = 'bad';
      }
      poll();
    }

    function refusal(r, what) {
      const word = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 409: 'Conflict', 429: 'Too Many Requests'}[r.status] || 'refused';
      return `${r.status} ${word}: ${r.body.error || 'no message'} (${what} NOT applied)`;
    }

    // The chosen instrument's parameters: only the fields filled in are sent, as whole numbers.
    async function setParams() {
      const out = $('params-result'), sym = symbol;
      out.dataset.status = '';
      if (!token()) { out.textContent = 'No token: enter a trader, risk officer or admin token first'; out.className = 'bad'; return; }
      const body = {};
      for (const p of PARAMS) {
        const v = $('param-' + p).value.trim();
        if (v === '') continue;
        if (!/^-?[0-9]+$/.test(v)) { out.textContent = `${p}: '${v}' is not a whole number (nothing sent)`; out.className = 'bad'; return; }
        body[p] = Number(v);
      }
      if (Object.keys(body).length === 0) { out.textContent = 'Nothing to set: fill in one or more values'; out.className = 'warn'; return; }
      out.textContent = `setting ${sym}…`; out.className = 'warn';
      let r;
      try { r = await api(`/v1/instruments/${encodeURIComponent(sym)}/params`, 'PUT', body); } catch (e) { out.textContent = 'NOT sent: ' + e; out.className = 'bad'; return; }
      out.dataset.status = r.status;
      if (r.ok) {
        out.textContent = `${sym}: ` + PARAMS.filter(p => p in body).map(p => `${p} ${r.body[p]}`).join(', ') + `, config version ${r.body.config_version}`;
        out.className = 'ok';
        for (const p of PARAMS) $('param-' + p).value = '';
      } else { out.textContent = refusal(r, 'change'); out.className = 'bad'; }
      poll();
    }

    async function setQuoting(on) {
      const out = $('params-result'), sym = symbol;
      out.dataset.status = '';
      if (!token()) { out.textContent = 'No token: enter a trader, risk officer or admin token first'; out.className = 'bad'; return; }
      out.textContent = `${on ? 'starting' : 'stopping'} ${sym}'s quoting…`; out.className = 'warn';
      let r;
      try { r = await api(`/v1/instruments/${encodeURIComponent(sym)}/quoting`, 'POST', {quoting: on}); } catch (e) { out.textContent = 'NOT sent: ' + e; out.className = 'bad'; return; }
      out.dataset.status = r.status;
      if (r.ok) { out.textContent = `${sym}: quoting ${r.body.quoting ? 'on' : 'off'}, config version ${r.body.config_version}`; out.className = 'ok'; }
      else { out.textContent = refusal(r, `quoting ${on ? 'on' : 'off'}`); out.className = 'bad'; }
      poll();
    }

    function drawParams(p) {
      $('params-symbol').textContent = p.symbol;
      const rows = PARAMS.filter(k => p[k] != null).map(k => [k, p[k]]);
      rows.push(['quoting', p.quoting ? '<span class="ok">on</span>' : '<span class="bad">OFF</span>']);
      $('params').tBodies[0].innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td id="now-${k}">${v}</td></tr>`).join('');
      for (const k of PARAMS) {
        const input = $('param-' + k);
        input.placeholder = p[k] != null ? String(p[k]) : 'none';
        input.disabled = p[k] == null;
      }
    }

    function drawStatus(s, o, f) {
      const killed = $('killed');
      killed.style.display = s.killed ? 'block' : 'none';
      killed.textContent = s.killed ? `KILL SWITCH ON (${s.kill_reason || 'unknown'}): nothing is sent until a risk officer resets it` : '';
      const parts = [
        ['config version', s.config_version], ['open orders', s.open_orders], ['fills', s.fills], ['net PnL $', money(s.net_pnl)],
        ['requests', o.requests], ['refused by risk', o.refused_by_risk], ['venue rejected', o.venue_rejected],
        ['feed', s.feed_stale ? '<span class="bad">STALE</span>' : '<span class="ok">live</span>'],
        ['msgs/s', Math.round(f.messages_per_second)], ['gaps lost', f.gaps_lost],
        ['gateway', s.gateway_up ? '<span class="ok">up</span>' : '<span class="bad">DOWN</span>'],
      ];
      $('strip').innerHTML = parts.map(([k, v]) => `<span>${k} <b>${v}</b></span>`).join('') + '<span id="message"></span>';
    }

    function drawLadder(q) {
      const select = $('symbol');
      const names = q.instruments.map(x => x.symbol);
      if ([...select.options].map(o => o.value).join() !== names.join()) {
        select.innerHTML = names.map(n => `<option>${esc(n)}</option>`).join('');
      }
      if (!names.includes(symbol)) symbol = names[0] || '';
      select.value = symbol;
      const x = q.instruments.find(i => i.symbol === symbol);
      const body = $('ladder').tBodies[0];
      const at = v => v == null ? null : Math.round(v / TICK);
      const bid = x && at(x.bid), ask = x && at(x.ask), ourBid = x && at(x.our_bid), ourAsk = x && at(x.our_ask);
      const marks = [bid, ask, ourBid, ourAsk].filter(v => v != null);
      if (!x || marks.length === 0) { body.innerHTML = `<tr><td colspan="5" class="dim">no prices yet for ${esc(symbol)}</td></tr>`; return; }
      let hi = Math.max(...marks) + 2, lo = Math.min(...marks) - 2;
      if (hi - lo + 1 > LADDER_MAX_ROWS) {
        const mid = bid != null && ask != null ? Math.round((bid + ask) / 2) : marks[0];
        hi = mid + (LADDER_MAX_ROWS >> 1); lo = mid - (LADDER_MAX_ROWS >> 1);
      }
      const rows = [];
      for (let t = hi; t >= lo; t--) {
        const inSpread = bid != null && ask != null && t > bid && t < ask;
        const cell = (on, cls, text) => on ? `<td class="${cls}">${text}</td>` : '<td></td>';
        rows.push(`<tr class="${inSpread ? 'spread' : ''}">` +
          cell(t === ourBid, 'ours', x.our_bid_shares) + cell(t === bid, 'bid', 'best bid') +
          `<td class="price">${(t * TICK).toFixed(2)}</td>` +
          cell(t === ask, 'ask', 'best ask') + cell(t === ourAsk, 'ours', x.our_ask_shares) + '</tr>');
      }
      body.innerHTML = rows.join('');
    }

    function drawTape(f) {
      const rows = f.fills.slice(-TAPE_ROWS).reverse();
      $('tape').querySelector('tbody').innerHTML = rows.length === 0 ? '<tr><td colspan="8" class="dim">no fills yet</td></tr>' :
        rows.map(r => `<tr><td>${new Date(r.at).toLocaleTimeString()}</td><td>${esc(r.symbol)}</td>` +
                      `<td class="${r.side === 'buy' ? 'ok' : 'bad'}">${r.side}</td><td>${r.shares}</td><td>${r.price.toFixed(2)}</td>` +
                      `<td>${r.leaves}</td><td>${r.liquidity}</td><td>${r.match_number}</td></tr>`).join('');
    }

    function drawPositions(p, pnl) {
      const net = Object.fromEntries(pnl.instruments.map(x => [x.symbol, x.net]));
      $('positions').tBodies[0].innerHTML = p.instruments.map(x =>
        `<tr><td>${esc(x.symbol)}</td><td>${x.position}</td><td>${x.bought_shares}</td><td>${x.sold_shares}</td><td>${x.fills}</td>` +
        `<td>${x.working_buy}</td><td>${x.working_sell}</td><td class="${net[x.symbol] < 0 ? 'bad' : 'ok'}">${money(net[x.symbol] || 0)}</td></tr>`).join('');
    }

    function drawLimits(l, p, q) {
      const position = Object.fromEntries(p.instruments.map(x => [x.symbol, x.position]));
      const order = Object.fromEntries(q.instruments.map(x => [x.symbol, Math.max(x.our_bid_shares, x.our_ask_shares)]));
      $('limits').tBodies[0].innerHTML = l.instruments.length === 0 ? '<tr><td colspan="5" class="bad">risk has no limits: every order is refused</td></tr>' :
        l.instruments.map(x => `<tr><td>${esc(x.symbol)}</td><td>${x.max_position}</td><td>${usageBar(Math.abs(position[x.symbol] || 0), x.max_position)}</td>` +
                               `<td>${x.max_order_qty}</td><td>${usageBar(order[x.symbol] || 0, x.max_order_qty)}</td></tr>`).join('');
    }

    function drawPnl(pnl) {
      pnlSeries.push({t: Date.now(), net: pnl.total.net, realised: pnl.total.realised});
      if (pnlSeries.length > PNL_POINTS) pnlSeries.shift();
      const c = $('pnl'), g = c.getContext('2d');
      const w = c.width = c.clientWidth || 800, h = c.height = 220, left = 64, bottom = 20;
      g.clearRect(0, 0, w, h);
      let lo = Math.min(0, ...pnlSeries.map(s => Math.min(s.net, s.realised))), hi = Math.max(0, ...pnlSeries.map(s => Math.max(s.net, s.realised)));
      if (hi - lo < 1) { hi += 0.5; lo -= 0.5; }
      const t0 = pnlSeries[0].t, span = Math.max(pnlSeries[pnlSeries.length - 1].t - t0, 1);
      const X = t => left + (w - left - 8) * (t - t0) / span, Y = v => 8 + (h - bottom - 16) * (hi - v) / (hi - lo);
      g.strokeStyle = '#2a3542'; g.fillStyle = '#8594a5'; g.font = '11px system-ui';
      const levels = [hi, (hi + lo) / 2, lo];
      if (levels.every(v => Math.abs(v) > (hi - lo) / 10)) levels.push(0);
      for (const v of levels) { g.beginPath(); g.moveTo(left, Y(v)); g.lineTo(w - 8, Y(v)); g.stroke(); g.fillText(usd(v), 4, Y(v) + 4); }
      g.fillText(`${(span / 1000).toFixed(0)} s, ${pnlSeries.length} polls`, left, h - 4);
      for (const [key, colour, dash] of [['realised', '#8594a5', [4, 3]], ['net', '#f0b429', []]]) {
        g.strokeStyle = colour; g.lineWidth = 2; g.setLineDash(dash); g.beginPath();
        pnlSeries.forEach((s, i) => i === 0 ? g.moveTo(X(s.t), Y(s[key])) : g.lineTo(X(s.t), Y(s[key])));
        if (pnlSeries.length === 1) g.lineTo(w - 8, Y(pnlSeries[0][key]));
        g.stroke();
      }
      g.setLineDash([]);
      const t = pnl.total;
      $('pnl-now').innerHTML = `net <b>${usd(t.net)}</b> = realised ${usd(t.realised)} + unrealised ${usd(t.unrealised)} − fees ${usd(t.fees)}` +
        ' <span style="color:#f0b429">━ net</span> <span>┅ realised</span>';
    }

    function drawLatency(l) {
      const rows = [['tick-to-trade', l.tick_to_trade], ['command → applied', l.command_applied]];
      const svg = $('latency'), w = svg.clientWidth || 600, barLeft = 150, barW = Math.max(w - barLeft - 110, 40);
      let y = 4, out = '';
      for (const [name, p] of rows) {
        const max = Math.max(p.p99_ns, p.p50_ns, 1);
        out += `<text x="0" y="${y + 12}" fill="#d8dee6" font-size="12">${name}</text><text x="0" y="${y + 28}" fill="#8594a5" font-size="11">n ${p.count}</text>`;
        for (const [k, v, colour] of [['p50', p.p50_ns, '#3fb37f'], ['p99', p.p99_ns, '#e8a33d']]) {
          out += `<rect x="${barLeft}" y="${y}" width="${Math.max(barW * v / max, 1).toFixed(1)}" height="14" fill="${colour}" rx="2"></rect>` +
                 `<text x="${barLeft + barW + 6}" y="${y + 11}" fill="#d8dee6" font-size="11">${k} ${p.count ? ns(v) : '–'}</text>`;
          y += 18;
        }
        y += 22;
      }
      svg.innerHTML = out;
    }

    let polling = false;
    async function poll() {
      if (polling) return;
      polling = true;
      try {
        showToken();
        if (!token()) { say('No token: enter one above (any role reads; trader, risk officer or admin to kill)', 'bad'); return; }
        const paths = ['status', 'orders', 'feed', 'quotes', 'positions', 'pnl', 'risk/limits', 'latency', 'fills'];
        let rs;
        try { rs = await Promise.all(paths.map(p => api('/v1/' + p))); } catch (e) { say('the control plane does not answer: ' + e, 'bad'); return; }
        const refused = rs.find(r => !r.ok);
        if (refused) { say(`${refused.status}: ${refused.body.error || 'no message'}`, 'bad'); return; }
        const [status, orders, feed, quotes, positions, pnl, limits, latency, fills] = rs.map(r => r.body);
        drawStatus(status, orders, feed);
        drawLadder(quotes); drawTape(fills); drawPositions(positions, pnl); drawLimits(limits, positions, quotes); drawPnl(pnl); drawLatency(latency);
        if (symbol) {
          const pr = await api(`/v1/instruments/${encodeURIComponent(symbol)}/params`);
          if (!pr.ok) { say(`${pr.status}: ${pr.body.error || 'no message'}`, 'bad'); return; }
          drawParams(pr.body);
        }
        say('updated ' + new Date().toLocaleTimeString(), 'dim');
        document.body.dataset.loaded = 'yes';
      } finally { polling = false; }
      const button = {kill: 'kill', params: 'params-set', 'quoting-off': 'quoting-off', 'quoting-on': 'quoting-on'}[press];
      if (button && !pressed && document.body.dataset.loaded === 'yes') { pressed = true; $(button).click(); }
    }

    $('kill').addEventListener('click', kill);
    $('params-set').addEventListener('click', setParams);
    $('quoting-off').addEventListener('click', () => setQuoting(false));
    $('quoting-on').addEventListener('click', () => setQuoting(true));
    $('symbol').addEventListener('change', e => { symbol = e.target.value; poll(); });
    $('token-use').addEventListener('click', () => {
      const v = $('token-input').value.trim();
      if (v) sessionStorage.setItem('omni-token', v);
      $('token-input').value = ''; poll();
    });
    $('token-forget').addEventListener('click', () => { sessionStorage.removeItem('omni-token'); showToken(); });
    poll();
    setInterval(poll, POLL_MS);
    </script>
    </body>
    </html>
    """#
}
