// serve.ts — the playground's HTTP server (what `npm start` runs).
//
// Serves playground/ (static files, plus the esbuild bundle in
// playground/dist) and the core's WASM from build/ on localhost. Nothing
// to configure: the playground embeds its default pool. OPFS needs a secure
// context, and http://localhost is one.
//
// One read-only endpoint: GET /api/doctor answers the JSON report of
// `pheap doctor` (doctor.ts) for the directory the server runs in, so the
// playground's "is it really on pmem?" lesson shows the serving machine's own
// checks. It writes nothing but doctor's own test file, removed before it answers.

import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { doctor } from './doctor.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.map': 'application/json', '.png': 'image/png', '.json': 'application/json',
};

/**
 * The package root: the nearest directory above this file holding a
 * package.json (this file is bundled into dist/cli.js, or run from src/cli/).
 * Throws when there is none up to the file system's root (a bundle copied
 * out of the package).
 */
export function packageRoot(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json in ${start} or above it`);
  }
}

/** Map a URL path to a file under playground/ or build/, refusing anything outside them. */
function resolve(root: string, urlPath: string): string | null {
  const clean = decodeURIComponent(urlPath.split('?')[0]);
  const [base, rel] = clean.startsWith('/build/') ? ['build', clean.slice('/build/'.length)] : ['playground', clean.slice(1) || 'index.html'];
  const dir = path.join(root, base);
  const file = path.resolve(dir, rel);
  return file.startsWith(dir + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile() ? file : null;
}

/** Where the playground asks for the serving machine's doctor report (of the working directory). */
export const DOCTOR_PATH = '/api/doctor';

/** Serve the playground on `host`:`port` (0: any free port); resolves once listening. */
export function serve(port: number, host = '127.0.0.1'): Promise<http.Server> {
  const root = packageRoot();
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] === DOCTOR_PATH) { answerDoctor(req, res); return; }
    const file = resolve(root, req.url ?? '/');
    if (!file) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(server));
  });
}

/** GET /api/doctor: doctor()'s report for the working directory, as JSON (500 with the message if it fails); any other method is refused (405). */
function answerDoctor(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method !== 'GET') { res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('GET only'); return; }
  let body: string;
  try {
    body = JSON.stringify(doctor(process.cwd()));
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`doctor failed: ${(e as Error).message}`);
    return;
  }
  res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' }).end(body);
}
