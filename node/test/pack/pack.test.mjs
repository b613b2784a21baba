// The npm tarballs, installed as a user installs them: pack.sh packs the main package and the
// linux-x64-gnu platform package into a temp dir; an empty project in another temp dir (outside
// the source tree) installs both offline, with a PATH on which there is no cargo or rustc; then
// a CommonJS and an ESM script there send metrics that arrive at a real UDP receiver, and a
// TypeScript user of the installed types type-checks (and a wrong call does not).
// REALM_METRICS_PACK_MUSL=1 also builds and packs linux-x64-musl (pack.sh --musl; it cannot be
// loaded on this glibc host, so its tarball is checked, not installed).
// node/test.sh packs in a step of its own (the musl build is not under the per-file test timeout)
// and passes the directory in REALM_METRICS_PACK_DIR; run alone, this file packs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import {
  mkdtempSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_DIR = fileURLToPath(new URL('../../', import.meta.url));
const REPO = join(NODE_DIR, '..');
const PKG = JSON.parse(readFileSync(join(NODE_DIR, 'package.json'), 'utf8'));
const VERSION = PKG.version;
const MUSL = process.env.REALM_METRICS_PACK_MUSL === '1';
const GNU_PKG = 'realm-metrics-linux-x64-gnu';
const MUSL_PKG = 'realm-metrics-linux-x64-musl';
const TSC = join(NODE_DIR, 'node_modules', 'typescript', 'bin', 'tsc');

let root; // temp dir: app/, bin/, home/ (and tarballs/ when this file packs)
let tarballs; // the directory pack.sh packed into
let env; // the user's environment: PATH without cargo/rustc, a fresh HOME and npm cache

/** execFile as a promise: resolves { code, stdout, stderr }, never rejects on a non-zero exit. */
function run(file, args, options) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, maxBuffer: 16 << 20, ...options }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, err });
    });
  });
}

const outside = (dir) => {
  const rel = relative(realpathSync(REPO), realpathSync(dir));
  return rel.startsWith('..') || isAbsolute(rel);
};

const tarList = (tgz) => execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
const tarJson = (tgz, file) => JSON.parse(execFileSync('tar', ['xzOf', tgz, file], { encoding: 'utf8' }));

/** A UDP receiver on 127.0.0.1:<ephemeral>; lines() waits until n lines arrived (or 5 s). */
async function receiver() {
  const sock = createSocket('udp4');
  const got = [];
  let wake = null;
  sock.on('message', (buf) => {
    got.push(...buf.toString('utf8').split('\n').filter(Boolean));
    wake?.();
  });
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  return {
    port: sock.address().port,
    async lines(n) {
      const deadline = Date.now() + 5000;
      while (got.length < n && Date.now() < deadline) {
        await new Promise((r) => { wake = r; setTimeout(r, 50); });
      }
      // A short grace period: anything extra that would follow is a failure too.
      await new Promise((r) => setTimeout(r, 100));
      sock.close();
      return got.slice().sort();
    },
  };
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'realm-metrics-pack-test-'));
  assert.ok(outside(root), `${root} must be outside the source tree`);
  tarballs = process.env.REALM_METRICS_PACK_DIR || join(root, 'tarballs');
  if (process.env.REALM_METRICS_PACK_DIR) {
    assert.ok(outside(tarballs), `${tarballs} must be outside the source tree`);
  } else {
    const args = [join(NODE_DIR, 'pack.sh'), '--out', tarballs, ...(MUSL ? ['--musl'] : [])];
    const packed = await run('bash', args, { timeout: MUSL ? 240_000 : 60_000 });
    assert.equal(packed.code, 0, `pack.sh failed:\n${packed.stdout}\n${packed.stderr}`);
  }

  // The user's PATH: node and npm only (npm runs as node npm-cli.js, found next to this node).
  const bin = join(root, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  symlinkSync(npmCli, join(bin, 'npm'));
  const home = join(root, 'home');
  mkdirSync(home);
  env = {
    PATH: bin,
    HOME: home,
    TMPDIR: root,
    npm_config_cache: join(home, 'npm-cache'), // empty: nothing can come from an earlier install
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

test('the tarballs: main package without a .node, platform package with only the .node', () => {
  const dir = tarballs;
  const names = readdirSync(dir).sort();
  const expected = [`realm-metrics-${VERSION}.tgz`, `${GNU_PKG}-${VERSION}.tgz`];
  if (MUSL) expected.push(`${MUSL_PKG}-${VERSION}.tgz`);
  assert.deepEqual(names, expected.sort());

  const main = join(dir, `realm-metrics-${VERSION}.tgz`);
  const files = tarList(main);
  for (const f of ['package/package.json', 'package/README.md', 'package/LICENSE', 'package/index.js',
    'package/index.d.ts', 'package/lib/index.js', 'package/lib/index.mjs', 'package/lib/index.d.ts']) {
    assert.ok(files.includes(f), `${f} in the main tarball (${files.join(', ')})`);
  }
  assert.deepEqual(files.filter((f) => f.endsWith('.node')), [], 'no .node in the main tarball');
  assert.deepEqual(files.filter((f) => !/^package\/(lib\/|index\.|package\.json$|README\.md$|LICENSE$)/.test(f)), []);
  const mainJson = tarJson(main, 'package/package.json');
  const optional = { [GNU_PKG]: VERSION };
  if (MUSL) optional[MUSL_PKG] = VERSION;
  assert.deepEqual(mainJson.optionalDependencies, optional);
  assert.equal(mainJson.dependencies, undefined, 'the main package depends on nothing else');

  const platforms = [[GNU_PKG, 'linux-x64-gnu', 'glibc']];
  if (MUSL) platforms.push([MUSL_PKG, 'linux-x64-musl', 'musl']);
  for (const [name, platform, libc] of platforms) {
    const tgz = join(dir, `${name}-${VERSION}.tgz`);
    const binary = `realm-metrics.${platform}.node`;
    assert.deepEqual(tarList(tgz), [`package/${binary}`, 'package/README.md', 'package/package.json'].sort());
    const json = tarJson(tgz, 'package/package.json');
    assert.equal(json.name, name);
    assert.equal(json.version, VERSION);
    assert.equal(json.main, binary);
    assert.deepEqual(json.files, [binary]);
    assert.deepEqual(json.os, ['linux']);
    assert.deepEqual(json.cpu, ['x64']);
    assert.deepEqual(json.libc, [libc]);
  }
  if (MUSL) {
    // Built for musl: its only shared-library dependency is musl's libc.so (no glibc, no
    // libgcc_s), and it is stripped. (It cannot be loaded on this glibc host.)
    const x = join(root, 'musl-x');
    mkdirSync(x);
    execFileSync('tar', ['xzf', join(dir, `${MUSL_PKG}-${VERSION}.tgz`), '-C', x]);
    const dyn = execFileSync('readelf', ['-d', join(x, 'package', 'realm-metrics.linux-x64-musl.node')], { encoding: 'utf8' });
    const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    assert.deepEqual(needed, ['libc.so']);
  }
});

test('installed offline into an empty project with no Rust on PATH: require, import and tsc work', async (t) => {
  const app = join(root, 'app');
  mkdirSync(app);
  assert.ok(outside(app));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }) + '\n');

  // No Rust toolchain in the user's environment: `which cargo` fails there (and `command -v`).
  const which = (await run('/bin/sh', ['-c', 'command -v which'])).stdout.trim();
  for (const tool of ['cargo', 'rustc']) {
    if (which) {
      const r = await run(which, [tool], { env, cwd: app });
      assert.notEqual(r.code, 0, `which ${tool} found ${r.stdout.trim()} on the user's PATH`);
    }
    const r = await run('/bin/sh', ['-c', `command -v ${tool}`], { env, cwd: app });
    assert.notEqual(r.code, 0, `${tool} is on the user's PATH: ${r.stdout.trim()}`);
  }

  const tgz = (name) => join(tarballs, `${name}-${VERSION}.tgz`);
  const install = await run(process.execPath, [join(env.PATH, 'npm'), 'install', '--offline', '--no-audit',
    '--no-fund', tgz('realm-metrics'), tgz(GNU_PKG)], { env, cwd: app, timeout: 60_000 });
  assert.equal(install.code, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
  const installed = join(app, 'node_modules');
  assert.deepEqual(readdirSync(join(installed, 'realm-metrics')).filter((f) => f.endsWith('.node')), [],
    'the loader must find the binding in the platform package, not next to itself');
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
  assert.equal(lock.packages[`node_modules/${GNU_PKG}`].version, VERSION);
  assert.deepEqual(lock.packages['node_modules/realm-metrics'].optionalDependencies[GNU_PKG], VERSION);

  const user = { env, cwd: app, timeout: 20_000 };

  await t.test('CommonJS: require("realm-metrics")', async () => {
    writeFileSync(join(app, 'send.cjs'), `
const { StatsD } = require('realm-metrics');
const client = new StatsD({ host: '127.0.0.1', port: Number(process.argv[2]), prefix: 'cjs.', bufferFlushInterval: 0 });
client.increment('requests');
client.increment('requests', 2);
client.gauge('queue.depth', 12.5);
client.close().then(() => {
  // The addon that loaded: the loader found no .node next to itself and took the platform package.
  console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.endsWith('.node'))));
});
`);
    const rx = await receiver();
    const r = await run(process.execPath, ['send.cjs', String(rx.port)], user);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [join(realpathSync(installed), GNU_PKG, 'realm-metrics.linux-x64-gnu.node')]);
    assert.deepEqual(await rx.lines(2), ['cjs.queue.depth:12.5|g', 'cjs.requests:3|c']);
  });

  await t.test("ESM: import { StatsD } from 'realm-metrics'", async () => {
    writeFileSync(join(app, 'send.mjs'), `
import { StatsD } from 'realm-metrics';
import DefaultStatsD from 'realm-metrics';
if (DefaultStatsD !== StatsD) throw new Error('the default export is not StatsD');
const client = new StatsD({ host: '127.0.0.1', port: Number(process.argv[2]), prefix: 'esm.', bufferFlushInterval: 0 });
client.increment('logins', 4);
client.decrement('sessions');
client.gauge('workers', 3);
await client.close();
`);
    const rx = await receiver();
    const r = await run(process.execPath, ['send.mjs', String(rx.port)], user);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await rx.lines(3), ['esm.logins:4|c', 'esm.sessions:-1|c', 'esm.workers:3|g']);
  });

  await t.test('TypeScript (module nodenext, strict) type-checks a user; a wrong call is rejected', async () => {
    const compilerOptions = {
      strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
      types: [], skipLibCheck: false,
    };
    writeFileSync(join(app, 'usage.mts'), `
import StatsD, { StatsD as Named, RealmMetrics, Metric, type StatsDOptions } from 'realm-metrics';
const options: StatsDOptions = { host: '127.0.0.1', port: 8125, prefix: 'app.', globalTags: { env: 'prod' } };
const client: Named = new StatsD(options);
client.increment('requests');
client.increment('requests', 2, ['route:sync']);
client.gauge('queue.depth', 12);
client.timing('latency', 42.5);
const done: Promise<void> = client.close();
const metrics = new RealmMetrics();
metrics.gauge(Metric.RealmsOpen, 1);
export { done, metrics };
`);
    writeFileSync(join(app, 'usage.cts'), `
import { StatsD } from 'realm-metrics';
const client = new StatsD({ port: 8125 });
client.increment('requests', 1);
export = client;
`);
    writeFileSync(join(app, 'wrong.mts'), `
import { StatsD } from 'realm-metrics';
const client = new StatsD({ port: 8125 });
client.gauge('queue.depth', '12');
`);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['usage.mts', 'usage.cts'] }));
    writeFileSync(join(app, 'tsconfig.wrong.json'), JSON.stringify({ compilerOptions, files: ['wrong.mts'] }));
    const [good, bad] = await Promise.all([
      run(process.execPath, [TSC, '-p', 'tsconfig.json'], { ...user, timeout: 30_000 }),
      run(process.execPath, [TSC, '-p', 'tsconfig.wrong.json', '--pretty', 'false'], { ...user, timeout: 30_000 }),
    ]);
    assert.equal(good.code, 0, `tsc rejected the user's code:\n${good.stdout}${good.stderr}`);
    assert.notEqual(bad.code, 0, 'tsc accepted a wrong call');
    assert.match(bad.stdout, /^wrong\.mts\(4,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/m);
  });
});
