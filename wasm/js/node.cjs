// realm-metrics-wasm for Node.js (CommonJS; ready on require). See README.md.
'use strict';

const { wrap } = require('./api.js');
const { TYPE_CODE, TYPE_NAMES, COLUMN_FLAG, COLUMNS } = require('./layout.js');

module.exports = { ...wrap(require('./realm_metrics_wasm.js')), TYPE_CODE, TYPE_NAMES, COLUMN_FLAG, COLUMNS };
