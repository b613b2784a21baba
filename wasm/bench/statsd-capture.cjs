// A "server" module for the Etsy statsd daemon (npm `statsd`) that opens no socket: statsd's
// stats.js hands every server module its packet handler (`handlePacket`, the daemon's own line
// parser and aggregator); this one keeps it for the benchmark to call with each packet.
'use strict';

let handler = null;
const waiters = [];

exports.start = function start(_config, callback) {
  handler = callback;
  for (const w of waiters.splice(0)) w(callback);
  return true;
};

// The daemon's packet handler, once stats.js has read its config and started its servers.
exports.handler = function handlerPromise() {
  return handler !== null ? Promise.resolve(handler) : new Promise((resolve) => waiters.push(resolve));
};
