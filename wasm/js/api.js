// The public API of realm-metrics-wasm over wasm-bindgen's generated glue: the package's entry
// points (pkg/web/index.js, pkg/node/index.js) call wrap() with their build's glue. Written once
// for both builds (build.sh makes the CommonJS copy of this file for pkg/node).
//
// The wrappers own the lifetimes of the objects the glue makes:
// - free() releases a decoder's wasm memory at once; a second free() (or free() and then
//   [Symbol.dispose], at the end of a `using` block) does nothing, and any other call after it
//   throws an Error.
// - A decoder that is dropped without free() is released by the glue's FinalizationRegistry once
//   the wrapper (which holds it) is unreachable.
// - The typed arrays ColumnDecoder.decode() returns are views on memory the decoder owns: each
//   view keeps its decoder (and so that memory) reachable. Otherwise a decoder dropped while its
//   views are in use would be finalized, its memory reused, and the views would silently read
//   whatever comes next.

import { COLUMNS } from './layout.js';

const COLUMN_NAMES = COLUMNS.map(([name]) => name);
const OWNER = Symbol('realm-metrics-wasm ColumnDecoder');

function freed(what) {
  return new Error(`${what}: the decoder was freed`);
}

export function wrap(glue) {
  class Decoder {
    #inner;

    /** A streaming decoder; see DecoderOptions. */
    constructor(options) {
      this.#inner = new glue.Decoder(options);
    }

    #live(what) {
      if (this.#inner === null) throw freed(what);
      return this.#inner;
    }

    push(chunk) {
      return this.#live('Decoder.push').push(chunk);
    }

    flush() {
      return this.#live('Decoder.flush').flush();
    }

    end() {
      return this.#live('Decoder.end').end();
    }

    get bufferedBytes() {
      return this.#live('Decoder.bufferedBytes').bufferedBytes;
    }

    get linesRead() {
      return this.#live('Decoder.linesRead').linesRead;
    }

    free() {
      const inner = this.#inner;
      this.#inner = null;
      if (inner !== null) inner.free();
    }
  }

  class ColumnDecoder {
    #inner;

    /** A reusable decodeColumns(); see DecodeOptions. */
    constructor(options) {
      this.#inner = new glue.ColumnDecoder(options);
    }

    decode(input) {
      const inner = this.#inner;
      if (inner === null) throw freed('ColumnDecoder.decode');
      const result = inner.decode(input);
      // The views are reused from call to call: mark them once.
      if (result.values[OWNER] !== this) {
        for (const name of COLUMN_NAMES) result[name][OWNER] = this;
      }
      return result;
    }

    free() {
      const inner = this.#inner;
      this.#inner = null;
      if (inner !== null) inner.free();
    }
  }

  if (typeof Symbol.dispose === 'symbol') {
    for (const C of [Decoder, ColumnDecoder]) {
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
