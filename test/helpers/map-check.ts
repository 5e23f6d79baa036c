// map-check.ts — what crash oracles of OrderedMap demand besides its state:
// check() passes, the count matches the leaves, and the pool holds the
// root plus exactly the map's objects (nothing leaked, nothing lost).

import { expect } from 'vitest';
import type { OrderedMap, Pool } from '../../src/index.js';

/** Assert the map in `p` (the root's only object) is intact; returns it for reading. */
export function intactMap(p: Pool, map: OrderedMap): OrderedMap {
  const c = map.check();
  expect(map.count).toBe(c.entries);
  expect(p.stats().heap.liveObjects, 'the pool holds the root and exactly the map\'s objects').toBe(c.objects + 1);
  return map;
}
