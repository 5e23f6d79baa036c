// readme.ts — the README's Node example, as the tests that run it read it.
//
// The example is README.md's first ```ts block importing Pool from 'pheap';
// test/readme.test.ts runs it against the repo's build and
// test/consumer.test.ts from an installed tarball, both exactly as written
// (the only rewrite allowed is where 'pheap' resolves).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The README's Node example, verbatim. */
export function readmeNodeExample(): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const block = /```ts\n(import \{ Pool \} from 'pheap';\n[\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ts block importing Pool from pheap');
  return block;
}

/** What a run of the example prints: `run N: objects [ off ]` → [N, off]. */
export function parseExampleRun(out: string): [number, number] | null {
  const m = /^run (\d+): objects \[ (\d+) \]$/.exec(out.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}
