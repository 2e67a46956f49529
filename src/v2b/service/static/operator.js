// The operator page's script (v2b.service.pages.operator_page).
const $ = (id) => document.getElementById(id);
function money(x) { return (x < 0 ? '−$' : '$') + Math.abs(x).toLocaleString('en-US',
  {minimumFractionDigits: 2, maximumFractionDigits: 2}); }
async function get(url) {
  const r = await fetch(url, {headers: {'Authorization': 'Bearer ' + localStorage.getItem('v2b-operator')}});
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}
function line(points, color, dash) {
  const p = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  p.setAttribute('points', points.map(([x, y]) => x.toFixed(1) + ',' + y.toFixed(1)).join(' '));
  p.setAttribute('fill', 'none'); p.setAttribute('stroke', color); p.setAttribute('stroke-width', '2');
  if (dash) p.setAttribute('stroke-dasharray', '6 4');
  return p;
}
function chart(slots, peak) {
  const svg = $('chart'); svg.innerHTML = '';
  if (!slots.length) return;
  const top = Math.max(peak, ...slots.map((s) => Math.max(s.total_kw, s.building_kw))) * 1.1 || 1;
  const bottom = Math.min(0, ...slots.map((s) => s.ev_kw));
  const x = (i) => 40 + (i % 96) * 9.6, y = (v) => 280 - (v - bottom) / (top - bottom) * 260;
  for (const v of [0, top / 2, top]) {
    const t = document.createElementNS('http://www.w3.org/2000/svg', 'text');
    t.setAttribute('x', 2); t.setAttribute('y', y(v) + 4); t.setAttribute('font-size', '12');
    t.textContent = Math.round(v); svg.appendChild(t);
  }
  svg.appendChild(line(slots.map((s) => [x(s.slot), y(s.building_kw)]), '#5b6570'));
  svg.appendChild(line(slots.map((s) => [x(s.slot), y(s.ev_kw)]), '#0b6bcb'));
  svg.appendChild(line(slots.map((s) => [x(s.slot), y(s.total_kw)]), '#1b1f23'));
  svg.appendChild(line([[40, y(peak)], [960, y(peak)]], '#b00020', true));
}
function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.appendChild(td); }
  return tr;
}
async function refresh() {
  try {
    const status = await get('/api/status');
    const day = Math.floor(Math.max(status.slot - 1, 0) / 96) * 96;
    const [slots, sessions] = await Promise.all([get('/api/slots?since=' + day), get('/api/sessions')]);
    $('login').hidden = true; $('site').hidden = false; $('error').textContent = '';
    $('clock').textContent = 'Site time ' + status.now.replace('T', ' ').slice(0, 16) + ' · next decision '
      + (status.next_decision_at ? status.next_decision_at.slice(11, 16) : 'none (period ended)')
      + ' · clock ' + status.clock;
    $('peak').textContent = status.peak_kw_so_far.toFixed(1) + ' kW';
    $('bill').textContent = money(status.bill_to_date.building_cost_usd);
    $('noev').textContent = money(status.references.building_only.building_cost_usd);
    $('uncontrolled').textContent = money(status.references.uncontrolled.building_cost_usd);
    const s = status.solver;
    $('solver').textContent = s.decisions + ' decisions, last ' + (s.decision_seconds_last === null ? '-'
      : s.decision_seconds_last.toFixed(2) + ' s') + ', fallbacks ' + (s.solver_fallbacks ?? 0) + ', failures '
      + (s.solver_failures ?? 0);
    chart(slots, status.peak_kw_so_far);
    const now = Object.fromEntries(status.connected.map((c) => [c.session_id, c.set_point_kw]));
    const body = $('sessions'); body.innerHTML = '';
    for (const x of sessions.slice().reverse()) {
      body.appendChild(row([x.arrival.slice(11, 16), x.charger_id, x.state, x.option_id || '',
        x.price_usd === null ? '' : money(x.price_usd), x.payment_usd === undefined ? '' : money(x.payment_usd),
        (x.energy_so_far_kwh ?? 0).toFixed(1), now[x.session_id] === undefined ? '' : now[x.session_id].toFixed(1)]));
    }
    $('not-following').textContent = status.not_following.map((f) => f.charger_id + ' does not follow ('
      + f.reason + '): planned at ' + f.assumed_kw.toFixed(1) + ' kW').join(' · ');
    if (status.ocpp) {
      $('ocpp').hidden = false;
      const cps = $('chargepoints'); cps.innerHTML = '';
      for (const cp of status.ocpp.charge_points) {
        for (const c of cp.connectors) {
          const p = c.last_profile;
          cps.appendChild(row([cp.id + ' #' + c.connector_id, cp.version, cp.connected ? 'yes' : 'no', c.charger_id,
            c.status || '', p ? p.limit + ' ' + p.unit : '', p ? p.status : '']));
        }
      }
    }
  } catch (e) { $('error').textContent = e.message; }
}
$('save').addEventListener('click', () => { localStorage.setItem('v2b-operator', $('token').value); refresh(); });
const given = new URLSearchParams(location.hash.slice(1)).get('token');
if (given) localStorage.setItem('v2b-operator', given);
if (localStorage.getItem('v2b-operator')) refresh();
setInterval(refresh, 5000);
