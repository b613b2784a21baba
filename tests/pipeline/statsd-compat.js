'use strict';
// Preloaded into the Etsy statsd daemon (node --require): statsd 0.9 logs with util.log, which
// Node removed in v23. Provide it when missing so the pinned daemon runs on any Node >= 18.
const util = require('node:util');

if (typeof util.log !== 'function') {
  util.log = (...args) => console.log(new Date().toISOString(), '-', util.format(...args));
}
