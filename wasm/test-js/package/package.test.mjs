// The package as users install it: `npm pack` makes the tarball, which is installed (offline)
// into an empty project outside the source tree. Then:
// - Node imports it with require() and with import, and decodes;
// - esbuild (the pinned devDependency) bundles a page that imports it, emitting the .wasm as a
//   file; the bundle is served on a free port and headless Chromium decodes StatsD with it.
//
// Run: node --test wasm/test-js/package/   (after wasm/build.sh and `npm ci` in wasm/)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, openPage, serveDir } from '../browser/chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.resolve(here, '..', '..');
const esbuild = createRequire(path.join(wasmDir, 'package.json'))('esbuild');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PACKET = 'realm.worker-1.connection.online:7|g\nrealm.worker-1.protocol.9.used:1|c|@0.5\nnot statsd\nx:2.5|ms';

let work;
let project;

before(() => {
  work = mkdtempSync(path.join(tmpdir(), 'realm-metrics-wasm-pack-'));
  const out = execFileSync(npm, ['pack', '--silent', '--pack-destination', work], { cwd: wasmDir, encoding: 'utf8' });
  const tarball = path.join(work, out.trim().split('\n').pop());
  project = path.join(work, 'app');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: project, stdio: 'pipe' });
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const expectDecoded = (r) => {
  assert.deepStrictEqual(
    r.metrics.map((m) => [m.line, m.name, m.value, m.metric, m.host, m.sampleRate]),
    [
      [1, 'realm.worker-1.connection.online', 7, 'connection.online', 'worker-1', null],
      [2, 'realm.worker-1.protocol.9.used', 1, 'protocol.<version>.used', 'worker-1', 0.5],
      [4, 'x', 2.5, null, null, null],
    ],
  );
  assert.deepStrictEqual(r.errors.map((e) => [e.line, e.column]), [[3, 11]]);
};

test('the tarball holds the builds, the types and no sources', () => {
  const files = execFileSync('tar', ['-tzf', path.join(work, readdirSync(work).find((f) => f.endsWith('.tgz')))], { encoding: 'utf8' })
    .trim().split('\n');
  for (const f of ['package/pkg/web/index.js', 'package/pkg/web/realm_metrics_wasm_bg.wasm', 'package/pkg/node/index.js',
    'package/pkg/node/index.mjs', 'package/pkg/index.d.ts', 'package/pkg/decoded.d.ts', 'package/package.json', 'package/README.md']) {
    assert.ok(files.includes(f), f);
  }
  assert.deepStrictEqual(files.filter((f) => /\/(src|bench|test-js|tests)\//.test(f) || f.endsWith('.rs')), []);
});

test('require() and import of the installed package decode', () => {
  const script = (kind) => kind === 'cjs'
    ? `const { decode } = require('realm-metrics-wasm'); process.stdout.write(JSON.stringify(decode(${JSON.stringify(PACKET)})));`
    : `import { decode } from 'realm-metrics-wasm'; process.stdout.write(JSON.stringify(decode(${JSON.stringify(PACKET)})));`;
  for (const kind of ['cjs', 'esm']) {
    const file = path.join(project, kind === 'cjs' ? 'check.cjs' : 'check.mjs');
    writeFileSync(file, script(kind));
    const out = execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' });
    expectDecoded(JSON.parse(out));
  }
});

test('TypeScript users type-check against the installed package (nodenext and bundler resolution)', () => {
  const tsc = path.join(wasmDir, 'node_modules', 'typescript', 'bin', 'tsc');
  writeFileSync(path.join(project, 'use.mts'), `
    import init, { decode, decodeColumns, ColumnDecoder, Decoder, TYPE_CODE } from 'realm-metrics-wasm';
    import type { DecodeResult, DecodedValue, DecodedRecord, ColumnsResult, DecodeError } from 'realm-metrics-wasm';
    const r: DecodeResult = decode('a:1|c', { prefix: 'p' });
    const first: DecodedRecord | undefined = r.metrics[0];
    if (first !== undefined && first.type !== 'event' && first.type !== 'service_check') {
      const v: DecodedValue = first;
      const n: number | bigint | string = v.value;
      void n;
    }
    const errors: DecodeError[] = r.errors;
    const c: ColumnsResult = decodeColumns(new Uint8Array([97]), { transferable: true });
    const d = new ColumnDecoder();
    const types: Uint8Array = d.decode('a:1|c').types;
    d.free();
    const s = new Decoder({ maxLineBytes: 1024 });
    s.push('a:1|c');
    const code: 6 = TYPE_CODE.event;
    void [errors, c, types, code, init];
  `);
  for (const moduleResolution of ['nodenext', 'bundler']) {
    const module = moduleResolution === 'nodenext' ? 'nodenext' : 'esnext';
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022,dom,esnext.disposable',
      '--module', module, '--moduleResolution', moduleResolution, '--skipLibCheck', 'false', 'use.mts'], { cwd: project, encoding: 'utf8' });
    assert.equal(r.status, 0, `${moduleResolution}: ${r.stdout}${r.stderr}`);
  }
});

test('a page bundled with esbuild decodes in Chromium', async () => {
  const src = path.join(project, 'src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'main.js'), `
    import init, { decode, ColumnDecoder } from 'realm-metrics-wasm';
    import wasmUrl from 'realm-metrics-wasm/realm_metrics_wasm_bg.wasm';
    try {
      await init({ module_or_path: wasmUrl });
      const r = decode(${JSON.stringify(PACKET)});
      const d = new ColumnDecoder();
      const c = d.decode(${JSON.stringify(PACKET)});
      const columns = { count: c.count, values: [...c.values.subarray(0, c.count)], catalogIds: [...c.catalogIds.subarray(0, c.count)] };
      d.free();
      document.body.dataset.result = JSON.stringify({ metrics: r.metrics, errors: r.errors, columns });
      document.body.dataset.status = 'done';
    } catch (e) {
      document.body.dataset.status = 'failed';
      document.body.textContent = String(e && e.stack || e);
    }
  `);
  const dist = path.join(project, 'dist');
  await esbuild.build({
    absWorkingDir: project,
    entryPoints: [path.join(src, 'main.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: dist,
    loader: { '.wasm': 'file' },
    logLevel: 'silent',
  });
  writeFileSync(path.join(dist, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>' +
    '<body data-status="loading"><script type="module" src="./main.js"></script></body></html>');
  const emitted = readdirSync(dist);
  assert.ok(emitted.some((f) => f.endsWith('.wasm')), `the .wasm is emitted: ${emitted}`);

  const server = await serveDir(dist, 'index.html');
  const browser = await launchChromium();
  try {
    const { page, problems } = await openPage(browser.context, server.base + '/');
    await page.waitForSelector('body[data-status="done"], body[data-status="failed"]', { state: 'attached', timeout: 30_000 });
    assert.equal(await page.getAttribute('body', 'data-status'), 'done', await page.textContent('body'));
    assert.deepStrictEqual(problems, []);
    const result = JSON.parse(await page.getAttribute('body', 'data-result'));
    expectDecoded(result);
    assert.deepStrictEqual(result.columns, { count: 3, values: [7, 1, 2.5], catalogIds: [6, 12, -1] });
  } finally {
    await browser.close();
    await server.close();
  }
});
