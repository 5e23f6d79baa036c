// ts-hooks.mjs — lets plain Node 20 import the project's .ts files (benchmarks).
//
// Node 20 cannot strip types, so these module hooks transpile each .ts file
// with esbuild as it loads (no bundling: every file keeps its own
// import.meta.url, so paths relative to a source file stay right) and map
// the ".js" specifiers that TypeScript sources use to their ".ts" files.
// Registered by scripts/ts-register.mjs: `node --import ./scripts/ts-register.mjs x.ts`.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

export async function resolve(specifier, context, next) {
  if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts') && (specifier.startsWith('.') || specifier.startsWith('/'))) {
    const ts = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (existsSync(fileURLToPath(ts))) return next(ts.href, context);
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', sourcefile: fileURLToPath(url) });
  return { format: 'module', source: code, shortCircuit: true };
}
