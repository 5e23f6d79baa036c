// runtime/capped.ts — the AssemblyScript runtime the core is built with.
//
// A bump allocator that can never reach the pool. The stock `stub` runtime
// bumps upward without limit and, in a memory that already holds a pool,
// would silently allocate on top of it. This one traps instead once the heap
// would pass RUNTIME_HEAP_LIMIT (far below POOL_BASE, see layout.ts).
//
//   __heap_base ─► [block][block]...  ◄─ heapTop ... RUNTIME_HEAP_LIMIT
//
// The core itself keeps all state in fixed regions and allocates nothing;
// this runtime exists so that any managed allocation (a string, an array
// added later) stays below the limit or fails loudly. `runtimeHeapEnd()`
// lets a test prove it.

import { AL_MASK, BLOCK, BLOCK_OVERHEAD, OBJECT, OBJECT_OVERHEAD } from "~lib/rt/common";
import { RUNTIME_HEAP_LIMIT } from "../layout";

// @ts-ignore: decorator
@lazy let heapTop: usize = ((__heap_base + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;

/** First byte past the runtime heap; always <= RUNTIME_HEAP_LIMIT. */
export function runtimeHeapEnd(): usize {
  return heapTop;
}

// @ts-ignore: decorator
@inline function payloadSize(size: usize): usize {
  return ((size + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
export function __alloc(size: usize): usize {
  const block = heapTop;
  const ptr = block + BLOCK_OVERHEAD;
  const payload = payloadSize(size);
  if (size > RUNTIME_HEAP_LIMIT || ptr + payload > RUNTIME_HEAP_LIMIT) unreachable();
  changetype<BLOCK>(block).mmInfo = payload;
  heapTop = ptr + payload;
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
export function __realloc(ptr: usize, size: usize): usize {
  const old = changetype<BLOCK>(ptr - BLOCK_OVERHEAD).mmInfo;
  if (size <= old) return ptr;
  const fresh = __alloc(size);
  memory.copy(fresh, ptr, old);
  return fresh;
}

// @ts-ignore: decorator
@unsafe @global
export function __free(ptr: usize): void {
  // Only the topmost block can be returned to a bump heap.
  const block = ptr - BLOCK_OVERHEAD;
  if (ptr + changetype<BLOCK>(block).mmInfo == heapTop) heapTop = block;
}

// @ts-ignore: decorator
@unsafe @global
export function __new(size: usize, id: u32): usize {
  const ptr = __alloc(OBJECT_OVERHEAD + size);
  const object = changetype<OBJECT>(ptr - BLOCK_OVERHEAD);
  object.gcInfo = 0;
  object.gcInfo2 = 0;
  object.rtId = id;
  object.rtSize = <u32>size;
  return ptr + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
export function __renew(oldPtr: usize, size: usize): usize {
  const ptr = __realloc(oldPtr - OBJECT_OVERHEAD, OBJECT_OVERHEAD + size);
  changetype<OBJECT>(ptr - BLOCK_OVERHEAD).rtSize = <u32>size;
  return ptr + OBJECT_OVERHEAD;
}

// The core holds no references across calls, so there is nothing to trace.
// @ts-ignore: decorator
@global @unsafe
export function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {}
// @ts-ignore: decorator
@global @unsafe
export function __pin(ptr: usize): usize { return ptr; }
// @ts-ignore: decorator
@global @unsafe
export function __unpin(ptr: usize): void {}
// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void {}
// @ts-ignore: decorator
@global @unsafe
export function __collect(): void {}
