// main.ts — the `pheap` command: serve the playground, diagnose pmem, check a pool.
import { Command } from 'commander';
import { serve } from './serve.js';
import { doctor, formatDoctor } from './doctor.js';
import { registerReplay } from './replay.js';
import { Pool, PheapError } from '../index.js';

const program = new Command('pheap').description('a persistent heap runtime for WebAssembly');

program.command('serve')
  .description('serve the pmem playground on localhost (what `npm start` runs)')
  .option('-p, --port <port>', 'port', process.env.PORT ?? '8080')
  .action(async (opts: { port: string }) => {
    const server = await serve(Number(opts.port));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    console.log(`pheap playground: http://localhost:${port}/  (Ctrl-C to stop)`);
  });

program.command('doctor')
  .description('tell whether a path is really on persistent memory')
  .argument('[path]', 'a file or directory to examine', '.')
  .option('--json', 'machine-readable output')
  .action((path: string, opts: { json?: boolean }) => {
    const report = doctor(path);
    console.log(opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
  });

program.command('check')
  .description('open a pool (running recovery) and verify every heap invariant')
  .argument('<path>', 'pool file')
  .requiredOption('-l, --layout <name>', 'layout name the pool was created with')
  .action((path: string, opts: { layout: string }) => {
    const pool = Pool.open({ path, layout: opts.layout });
    try {
      pool.check();
      const s = pool.stats();
      console.log(`${path}: consistent — ${s.heap.liveObjects} objects, ${s.heap.liveBytes} bytes live, ${s.heap.freeBytes} free; ` +
        `recovery rolled back ${s.recovery.entriesRolledBack} entries in ${s.recovery.ms.toFixed(2)} ms`);
    } finally {
      pool.close();
    }
  });

registerReplay(program);

program.parseAsync().catch((e: unknown) => {
  console.error(e instanceof PheapError ? `pheap: ${e.message}` : e);
  process.exitCode = 1;
});
