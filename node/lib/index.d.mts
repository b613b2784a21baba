// Types of the ESM entry (./index.mjs): the CommonJS declarations, with StatsD as the default
// export, as `import StatsD from 'realm-metrics'` gives at run time (like hot-shots).
export * from './index.js';
import { StatsD } from './index.js';
export default StatsD;
