// A charge point built on ocpp-rpc (npm; an OCPP-J implementation v2b did not write), in strict
// mode: every call and answer v2b sends is checked against ocpp-rpc's own copy of the OCPP
// schemas. Used by tests/test_ocpp_interop.py.
//
// node ocpp_rpc_charge_point.js ENDPOINT IDENTITY PROTOCOL CONNECTOR [PASSWORD]
// Prints one JSON object per line: {"event": ...}. Boots, plugs a car in and starts a
// transaction, prints "ready", waits for a TxProfile (accepts it), reports the meter, stops.
const { RPCClient } = require('ocpp-rpc');

const [endpoint, identity, protocol, connectorText, password] = process.argv.slice(2);
const connector = Number(connectorText);
const say = (event, body = {}) => console.log(JSON.stringify({ event, ...body }));
const v16 = protocol === 'ocpp1.6';

async function main() {
  const cli = new RPCClient({ endpoint, identity, protocols: [protocol], strictMode: true, password,
                              reconnect: false });
  cli.on('strictValidationFailure', (e) => { say('strict-failure', { error: String(e.error) }); process.exitCode = 3; });
  let gotProfile;
  const profile = new Promise((resolve) => { gotProfile = resolve; });
  cli.handle('SetChargingProfile', ({ params }) => {
    const p = v16 ? params.csChargingProfiles : params.chargingProfile;
    say('profile', { purpose: p.chargingProfilePurpose, params });
    if (p.chargingProfilePurpose === 'TxProfile') gotProfile(params);
    return { status: 'Accepted' };
  });
  await cli.connect();
  const now = () => new Date().toISOString();
  const boot = v16
    ? await cli.call('BootNotification', { chargePointVendor: 'ocpp-rpc', chargePointModel: 'interop' })
    : await cli.call('BootNotification', { chargingStation: { vendorName: 'ocpp-rpc', model: 'interop' },
                                           reason: 'PowerUp' });
  say('boot', { status: boot.status });
  if (boot.status !== 'Accepted') { await cli.close(); return; }
  await cli.call('Heartbeat', {});
  let txId;
  if (v16) {
    await cli.call('StatusNotification', { connectorId: connector, errorCode: 'NoError', status: 'Preparing' });
    await cli.call('Authorize', { idTag: 'INTEROP' });
    const start = await cli.call('StartTransaction', { connectorId: connector, idTag: 'INTEROP', meterStart: 1000,
                                                       timestamp: now() });
    txId = start.transactionId;
  } else {
    await cli.call('StatusNotification', { timestamp: now(), connectorStatus: 'Occupied', evseId: connector,
                                           connectorId: 1 });
    await cli.call('Authorize', { idToken: { idToken: 'INTEROP', type: 'ISO14443' } });
    txId = 'interop-tx-1';
    await cli.call('TransactionEvent', { eventType: 'Started', timestamp: now(), triggerReason: 'CablePluggedIn',
                                         seqNo: 0, transactionInfo: { transactionId: txId },
                                         evse: { id: connector, connectorId: 1 },
                                         idToken: { idToken: 'INTEROP', type: 'ISO14443' } });
  }
  say('ready', { txId });
  const timeout = new Promise((_, no) => setTimeout(() => no(new Error('no TxProfile in 60 s')), 60000).unref());
  const params = await Promise.race([profile, timeout]);
  const p = v16 ? params.csChargingProfiles : params.chargingProfile;
  const schedule = v16 ? p.chargingSchedule : p.chargingSchedule[0];
  const limit = schedule.chargingSchedulePeriod[0].limit;
  const wh = 1000 + Math.round(limit * 0.25);
  if (v16) {
    await cli.call('MeterValues', { connectorId: connector, transactionId: txId, meterValue: [
      { timestamp: now(), sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }] });
    await cli.call('StopTransaction', { meterStop: wh, timestamp: now(), transactionId: txId, reason: 'EVDisconnected' });
  } else {
    const mv = [{ timestamp: now(), sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register' }] }];
    await cli.call('TransactionEvent', { eventType: 'Updated', timestamp: now(), triggerReason: 'MeterValuePeriodic',
                                         seqNo: 1, transactionInfo: { transactionId: txId }, meterValue: mv });
    await cli.call('TransactionEvent', { eventType: 'Ended', timestamp: now(), triggerReason: 'EVDeparted', seqNo: 2,
                                         transactionInfo: { transactionId: txId, stoppedReason: 'EVDisconnected' },
                                         meterValue: mv });
  }
  say('done', { limit, unit: schedule.chargingRateUnit });
  await cli.close();
}

main().catch((err) => { say('error', { error: String(err && err.stack || err) }); process.exitCode = 1; });
