// store/layout.ts — the layout name of every Store pool, alone so that a
// browser page can name it without bundling the Store itself.

/** The layout name of every Store pool: a pool made with another layout is refused (LayoutMismatchError). */
export const STORE_LAYOUT = 'pheap-store';
