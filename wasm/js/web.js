// realm-metrics-wasm for browsers and bundlers (ES module): call the default export, init(),
// once before anything else (or initSync() with the module's bytes). See README.md.
import init, * as glue from './realm_metrics_wasm.js';
import { wrap } from './api.js';

export { initSync } from './realm_metrics_wasm.js';
export { TYPE_CODE, TYPE_NAMES, COLUMN_FLAG, COLUMNS } from './layout.js';

const api = wrap(glue);
export const { decode, decodeColumns, catalog, Decoder, ColumnDecoder } = api;
export default init;
