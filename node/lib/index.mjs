// ESM entry: the CommonJS module's exports, with StatsD as the default export (like hot-shots).
import cjs from './index.js';

export const { StatsD, RealmMetrics, Metric, catalog, encode, decode, methodName, CHECKS } = cjs;
export default cjs.StatsD;
