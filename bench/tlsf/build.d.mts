// Types for bench/tlsf/build.mjs.
export const TLSF_WASM: string;
/** Builds bench/tlsf/build/tlsf.wasm if stale; returns its path. */
export function buildTlsf(opts?: { log?: (line: string) => void }): Promise<string>;
