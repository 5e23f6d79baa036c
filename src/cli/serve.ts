// serve.ts — the playground's HTTP server (what `npm start` runs).
//
// Serves playground/ (static files, plus the esbuild bundle in
// playground/dist) and the core's WASM from build/ on localhost. Nothing
// to configure: the playground embeds its default pool. OPFS needs a secure
// context, and http://localhost is one.

import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

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

export function serve(port: number, host = '127.0.0.1'): Promise<http.Server> {
  const root = packageRoot();
  const server = http.createServer((req, res) => {
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
