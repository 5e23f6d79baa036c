// Compiles bench/tlsf/tlsf.ts (AssemblyScript, TLSF runtime "minimal", -O3)
// with the project's installed asc into bench/tlsf/build/tlsf.wasm, only when
// the source, the flags or the compiler version changed.
//
//   node bench/tlsf/build.mjs          (also exported: buildTlsf())
//
// asc runs with bench/tlsf as its working directory so that the project's
// asconfig.json (entries, custom runtime, imported memory) is not applied.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const ASC = join(ROOT, "node_modules", ".bin", "asc");
const SRC = join(HERE, "tlsf.ts");
export const TLSF_WASM = join(HERE, "build", "tlsf.wasm");
const STAMP = join(HERE, "build", "tlsf.stamp");

const ARGS = [
  "tlsf.ts",
  "-O3",
  "--runtime", "minimal",
  "--noAssert",
  "--outFile", "build/tlsf.wasm",
  "--textFile", "build/tlsf.wat",
];

function ascVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", "assemblyscript", "package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
}

/** Builds tlsf.wasm if stale; returns its path. */
export async function buildTlsf({ log = (line) => console.error(line) } = {}) {
  if (!existsSync(ASC)) throw new Error(`asc not found at ${ASC}: run npm install`);
  const key = createHash("sha256")
    .update(readFileSync(SRC))
    .update(JSON.stringify(ARGS))
    .update(ascVersion())
    .digest("hex");
  if (existsSync(TLSF_WASM) && existsSync(STAMP) && readFileSync(STAMP, "utf8") === key) return TLSF_WASM;
  mkdirSync(join(HERE, "build"), { recursive: true });
  log("tlsf: compiling bench/tlsf/tlsf.ts (asc -O3 --runtime minimal)");
  await run(ASC, ARGS, { cwd: HERE });
  writeFileSync(STAMP, key);
  return TLSF_WASM;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildTlsf().then(
    (p) => console.log(p),
    (e) => {
      console.error(e.stderr || e.message || e);
      process.exit(1);
    },
  );
}
