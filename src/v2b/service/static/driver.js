// The driver page's script (v2b.service.pages.driver_page fills in __ORIGIN_OFFSET__ and __TODAY__).
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let session = null;
function offset() { const z = '__ORIGIN_OFFSET__'; return z.slice(0, 3) + ':' + z.slice(3); }
function money(x) { return (x < 0 ? '−$' : '$') + Math.abs(x).toFixed(2); }
function hhmm(iso) { return iso.slice(11, 16); }
function fail(message) { $('error').textContent = message; }
async function api(method, url, body, token) {
  const headers = {'Content-Type': 'application/json'};
  if (token) headers['Authorization'] = 'Bearer ' + token;
  const r = await fetch(url, {method, headers, body: body ? JSON.stringify(body) : undefined});
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}
function gives(o) {
  const parts = [];
  if (o.gives_up.soc_pct > 0) parts.push(o.gives_up.soc_pct.toFixed(1) + ' % less charge');
  if (o.gives_up.minutes_later > 0) parts.push('leave ' + o.gives_up.minutes_later + ' min later');
  return parts.length ? 'You give up: ' + parts.join(', ') : 'Exactly what you asked for';
}
function showMenu(answer) {
  session = {id: answer.session_id, token: answer.driver_token};
  localStorage.setItem('v2b-session', JSON.stringify(session));
  $('request').hidden = true; $('menu').hidden = false;
  $('expires').textContent = 'Choose by ' + hhmm(answer.expires_at) + '; after that the site decides.'
    + (answer.fallback ? ' These are the site\'s standard prices: it was too busy to price your request.' : '');
  const list = $('options'); list.innerHTML = '';
  for (const o of answer.options) {
    const card = document.createElement('div'); card.className = 'card option';
    const perKwh = o.price_usd_per_kwh === null ? '' : ' (' + money(o.price_usd_per_kwh) + '/kWh)';
    card.innerHTML = '<div><div class="price"></div><div></div><div class="muted"></div></div>';
    card.children[0].children[0].textContent = money(o.price_usd) + perKwh;
    card.children[0].children[1].textContent = o.target_soc_pct.toFixed(1) + ' % by ' + hhmm(o.departure)
      + ' (' + o.energy_kwh.toFixed(1) + ' kWh)';
    card.children[0].children[2].textContent = gives(o);
    const pick = document.createElement('button'); pick.type = 'button'; pick.textContent = 'Choose';
    pick.dataset.option = o.option_id; pick.addEventListener('click', () => choose(o.option_id));
    card.appendChild(pick); list.appendChild(card);
  }
  $('reject').hidden = !answer.reject;
  if (answer.reject) $('reject').textContent = 'No thanks, I will charge elsewhere (about '
    + money(answer.reject.price_usd_per_kwh) + '/kWh)';
  if (params.get('choose')) choose(params.get('choose'));
}
async function choose(optionId) {
  fail('');
  try {
    const s = await api('POST', '/api/sessions/' + session.id + '/choice', {option_id: optionId}, session.token);
    showSession(s);
  } catch (e) { fail(e.message); }
}
function showSession(s) {
  $('request').hidden = true; $('menu').hidden = true; $('session').hidden = false;
  const lines = [];
  if (s.state === 'offered') { showMenu({session_id: s.session_id, driver_token: session.token,
    options: s.options, reject: s.reject, fallback: s.fallback, expires_at: s.expires_at}); return; }
  if (s.state === 'declined') lines.push('You declined. Nothing is charged.');
  if (s.state === 'connected') {
    lines.push('Charging at ' + s.charger_id + ': ' + s.soc_pct.toFixed(1) + ' % now, '
      + s.target_soc_pct.toFixed(1) + ' % by ' + hhmm(s.departure) + '.');
    lines.push('Energy so far ' + s.energy_so_far_kwh.toFixed(2) + ' kWh; expected by departure '
      + s.expected_energy_at_departure_kwh.toFixed(2) + ' kWh.');
    lines.push('Price ' + money(s.price_usd) + ' for the energy promised; you pay for what you get.');
  }
  if (s.state === 'departed') lines.push('Done: ' + s.energy_so_far_kwh.toFixed(2) + ' kWh, paid '
    + money(s.payment_usd) + '.');
  $('state').innerHTML = ''; $('state').dataset.state = s.state;
  for (const l of lines) { const p = document.createElement('p'); p.textContent = l; $('state').appendChild(p); }
}
async function refresh() {
  if (!session) return;
  try { showSession(await api('GET', '/api/sessions/' + session.id, null, session.token)); }
  catch (e) { fail(e.message); }
}
$('form').addEventListener('submit', async (event) => {
  event.preventDefault(); fail('');
  const f = new FormData($('form'));
  const day = params.get('day') || '__TODAY__';
  const body = {charger_id: f.get('charger_id'), battery_kwh: Number(f.get('battery_kwh')),
    arrival_soc_pct: Number(f.get('arrival_soc_pct')), requested_soc_pct: Number(f.get('requested_soc_pct')),
    departure: day + 'T' + f.get('departure') + ':00' + offset()};
  try {
    const key = 'driver-' + Date.now() + '-' + Math.random().toString(16).slice(2);
    const r = await fetch('/api/arrivals', {method: 'POST', body: JSON.stringify(body),
      headers: {'Content-Type': 'application/json', 'Idempotency-Key': key}});
    const data = await r.json();
    if (!r.ok) throw new Error(data.error || r.statusText);
    showMenu(data);
  } catch (e) { fail(e.message); }
});
$('reject').addEventListener('click', () => choose('reject'));
for (const name of ['charger_id', 'battery_kwh', 'arrival_soc_pct', 'requested_soc_pct', 'departure']) {
  if (params.get(name)) $(name).value = params.get(name);
}
if (params.get('session')) {
  const saved = JSON.parse(localStorage.getItem('v2b-session') || 'null');
  if (saved && saved.id === params.get('session')) { session = saved; refresh(); }
}
if (params.get('submit')) $('form').requestSubmit();
setInterval(refresh, 10000);
