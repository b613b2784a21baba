// The public API of realm-metrics-wasm over wasm-bindgen's generated glue: the package's entry
// points (pkg/web/index.js, pkg/node/index.js) call wrap() with their build's glue. Written once
// for both builds (build.sh makes the CommonJS copy of this file for pkg/node).
//
// The wrappers own the lifetimes of the objects the glue makes:
// - free() releases a decoder's wasm memory at once; a second free() (or free() and then
//   [Symbol.dispose], at the end of a `using` block) does nothing, and any other call after it
//   throws an Error.
// - A decoder that is dropped without free() is released by the glue's FinalizationRegistry.
// - The typed arrays ColumnDecoder.decode() returns are views on memory the decoder owns: each
//   view keeps its decoder (and so that memory) reachable. Otherwise a decoder dropped while its
//   views are in use would be finalized, its memory reused, and the views would silently read
//   whatever comes next.

import { COLUMNS } from './layout.js';

const COLUMN_NAMES = COLUMNS.map(([name]) => name);
const OWNER = Symbol('realm-metrics-wasm ColumnDecoder');

export function wrap(glue) {
  // Subclasses of the generated classes: the object users hold is the one the glue registers
  // with its FinalizationRegistry, so dropping it releases the wasm memory, and a view that keeps
  // it keeps that memory. (`__wbg_ptr` is the glue's handle of the Rust object, 0 once freed.)
  class Decoder extends glue.Decoder {
    free() {
      if (this.__wbg_ptr !== 0) super.free();
    }
  }

  class ColumnDecoder extends glue.ColumnDecoder {
    decode(input) {
      const result = super.decode(input);
      // The views are reused from call to call: mark them once.
      if (result.values[OWNER] !== this) {
        for (const name of COLUMN_NAMES) result[name][OWNER] = this;
      }
      return result;
    }

    free() {
      if (this.__wbg_ptr !== 0) super.free();
    }
  }

  for (const C of [Decoder, ColumnDecoder]) {
    if (typeof Symbol.dispose === 'symbol') {
      Object.defineProperty(C.prototype, Symbol.dispose, {
        value() {
          this.free();
        },
        writable: true,
        configurable: true,
      });
    }
  }

  return {
    decode: glue.decode,
    decodeColumns: glue.decodeColumns,
    catalog: glue.catalog,
    Decoder,
    ColumnDecoder,
  };
}
