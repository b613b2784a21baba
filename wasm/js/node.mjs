// realm-metrics-wasm for Node.js as an ES module: the CommonJS build's exports, by name.
import api from './index.js';

export const { decode, decodeColumns, catalog, Decoder, ColumnDecoder, TYPE_CODE, TYPE_NAMES, COLUMN_FLAG, COLUMNS } = api;
export default api;
