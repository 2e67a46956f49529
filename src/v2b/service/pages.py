"""The driver page (``/driver``) and the operator page (``/operator``): server-rendered HTML
with a little JavaScript that calls the same API as any client. Phone-sized first.

The driver page takes its request from the form, or from the query string
(``?charger_id=B01&battery_kwh=60&arrival_soc_pct=20&requested_soc_pct=80&departure=17:00``,
what a QR code on a charger would carry; ``&submit=1`` sends it, ``&choose=<option_id>``
answers the menu: the browser test drives the page this way).
"""

from __future__ import annotations

from functools import cache
from html import escape
from importlib import resources

from v2b.service.live import LiveSite


@cache
def _asset(name: str) -> str:
    """A file of ``static/`` (the pages' CSS and scripts, inlined: one request per page)."""
    return resources.files("v2b.service").joinpath("static", name).read_text(encoding="utf-8")


def _page(title: str, body: str, script: str, wide: bool = False) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{_asset('style.css')}</style></head><body>"
            f"<main class='{'wide' if wide else ''}'>{body}</main><script>{script}</script></body></html>")


def driver_page(live: LiveSite) -> str:
    """The form, the menu, the session: one page, three states."""
    now = live.clock.now()
    chargers = "".join(f"<option>{escape(c)}</option>" for c in live.charger_ids)
    body = f"""
<h1>Charge at {escape(live.site.name)}</h1>
<p class='muted' id='clock'>Site time {escape(now.strftime('%a %d %b %H:%M'))}</p>
<section id='request'>
<form id='form'>
<label for='charger_id'>Charger</label><select id='charger_id' name='charger_id'>{chargers}</select>
<label for='battery_kwh'>Battery size (kWh)</label>
<input id='battery_kwh' name='battery_kwh' type='number' min='1' max='1000' step='any' value='60' required>
<label for='arrival_soc_pct'>Battery now (%)</label>
<input id='arrival_soc_pct' name='arrival_soc_pct' type='number' min='0' max='100' step='any' value='30'
 required>
<label for='requested_soc_pct'>Battery wanted when you leave (%)</label>
<input id='requested_soc_pct' name='requested_soc_pct' type='number' min='0' max='100' step='any' value='80'
 required>
<label for='departure'>Leaving at</label><input id='departure' name='departure' type='time' value='17:00'
 required>
<button id='ask' type='submit'>See my options</button>
</form></section>
<section id='menu' hidden><h2>Your options</h2><p class='muted' id='expires'></p><div id='options'></div>
<button id='reject' class='secondary' type='button'>No thanks, I will charge elsewhere</button></section>
<section id='session' hidden><h2>Your session</h2><div class='card' id='state'></div></section>
<p class='error' id='error' role='alert'></p>
"""
    script = _asset('driver.js').replace("__ORIGIN_OFFSET__", now.strftime("%z")).replace(
        "__TODAY__", now.date().isoformat())
    return _page(f"Charge at {live.site.name}", body, script)


def operator_page(live: LiveSite) -> str:
    body = f"""
<h1>{escape(live.site.name)} · operator</h1>
<div id='login'><label for='token'>Operator token</label><input id='token' type='password' autocomplete='off'>
<button id='save' type='button'>Show the site</button></div>
<p class='error' id='error' role='alert'></p>
<section id='site' hidden>
<p class='muted' id='clock'></p>
<div class='grid'>
<div class='card'><div class='muted'>Month's peak so far</div><div class='big' id='peak'></div></div>
<div class='card'><div class='muted'>Bill to date</div><div class='big' id='bill'></div></div>
<div class='card'><div class='muted'>Without EVs</div><div class='big' id='noev'></div></div>
<div class='card'><div class='muted'>Uncontrolled charging</div><div class='big' id='uncontrolled'></div>
</div>
<div class='card'><div class='muted'>Solver</div><div id='solver'></div></div>
</div>
<h2>Today's load (kW)</h2>
<svg id='chart' viewBox='0 0 960 300' role='img'
 aria-label="today's site load, EV load and the month's peak"></svg>
<p class='muted'><span style='color:#5b6570'>■</span> building <span style='color:#0b6bcb'>■</span> EVs
<span style='color:#1b1f23'>■</span> site total <span style='color:#b00020'>- -</span> month's peak</p>
<h2>Sessions</h2>
<div style='overflow-x:auto'><table><thead><tr><th>arrived</th><th>charger</th><th>state</th><th>choice</th>
<th>price</th><th>paid</th><th>kWh</th><th>now kW</th></tr></thead><tbody id='sessions'></tbody></table>
</div>
<section id='ocpp' hidden><h2>Chargers (OCPP)</h2>
<p class='error' id='not-following'></p>
<div style='overflow-x:auto'><table><thead><tr><th>charge point</th><th>OCPP</th><th>online</th>
<th>charger</th><th>status</th><th>last profile</th><th>answer</th></tr></thead>
<tbody id='chargepoints'></tbody></table></div></section>
</section>
"""
    return _page(f"{live.site.name} · operator", body, _asset('operator.js'), wide=True)


