// A minimal WebAssembly binary writer: enough of the module format (type, import, function, export
// and code sections) and of the instruction set (i32 arithmetic, structured control, f32/v128
// loads and stores, f32x4 arithmetic) to emit the matmul kernels of wasm-gemm.ts and the flat
// optimizer kernels of train/flat-simd.ts at run time.
// Spec: WebAssembly Core Specification 2.0, chapter 5 "Binary Format" (modules 5.5, instructions
// 5.4; SIMD opcodes are the 0xFD-prefixed ones, their index a LEB128 u32).

import v8 from 'node:v8';

export type Code = number | Code[];

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (i32 immediates). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

const simd = (index: number) => [0xfd, ...uleb(index)];
// memarg = alignment exponent, then byte offset
const memarg = (align: number, offset: number) => [align, ...uleb(offset)];

export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  i32Eqz: [0x45],
  i32LtU: [0x49],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  f32Load: (offset = 0) => [0x2a, ...memarg(2, offset)],
  f32Sqrt: [0x91],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Div: [0x95],
  f32Const1: [0x43, 0x00, 0x00, 0x80, 0x3f],
  f32x4Lane: (lane: number) => [...simd(0x1f), lane],
  f32Store: (offset = 0) => [0x38, ...memarg(2, offset)],
  // v128 accesses use alignment 2^2: the kernels' operands are only 4-byte aligned
  v128Load: (offset = 0) => [...simd(0x00), ...memarg(2, offset)],
  v128Load32Splat: (offset = 0) => [...simd(0x09), ...memarg(2, offset)],
  v128Store: (offset = 0) => [...simd(0x0b), ...memarg(2, offset)],
  v128Zero: [...simd(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Splat: simd(0x13),
  f32x4Sqrt: simd(0xe3),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  // relaxed SIMD (WebAssembly relaxed-simd proposal, now in the 3.0 spec): a·b + c, fused where
  // the CPU has FMA; deterministic on one machine. Only where relaxedSimd() says it validates.
  f32x4RelaxedMadd: simd(0x105),
};

/** What we use of the WebAssembly JS API (a Node global; the ES lib we compile against lacks its types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (desc: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const flatten = (code: Code[], out: number[] = []): number[] => {
  for (const c of code) {
    if (typeof c === 'number') out.push(c);
    else flatten(c, out);
  }
  return out;
};

/** while (local n ≠ 0) { body; n −= 1 } */
export function countDown(n: number, body: Code[]): Code[] {
  return [op.block, op.loop, op.get(n), op.i32Eqz, op.brIf(1), ...body, op.get(n), op.i32(1), op.i32Sub, op.set(n), op.br(0), op.end, op.end];
}

/** while (local i < local end, unsigned) { body; i += step }; i is set by the caller. */
export function whileBelow(i: number, end: number, step: number, body: Code[]): Code[] {
  return [op.block, op.loop, op.get(i), op.get(end), op.i32LtU, op.i32Eqz, op.brIf(1), ...body, op.get(i), op.i32(step), op.i32Add, op.set(i), op.br(0), op.end, op.end];
}

let relaxed: boolean | undefined;

/**
 * Whether relaxed-SIMD instructions validate, enabling them if needed. Node 22+ (V8 ≥ 11.4) has
 * them on; Node 20's V8 has them behind --experimental-wasm-relaxed-simd, which takes effect for
 * modules compiled after it is set at run time (a process-wide V8 flag, so worker threads see it).
 * SPACETIME_RELAXED_SIMD=0 answers false (the kernels then use separate multiply and add).
 */
export function relaxedSimd(): boolean {
  if (relaxed !== undefined) return relaxed;
  if (process.env.SPACETIME_RELAXED_SIMD === '0') return (relaxed = false);
  const probe = wasmModule([{ name: 'p', params: [], locals: [V128], body: [op.get(0), op.get(0), op.get(0), op.f32x4RelaxedMadd, op.set(0)] }]);
  if (WA.validate(probe)) return (relaxed = true);
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return (relaxed = WA.validate(probe));
}

export interface WasmFunc {
  name: string;
  params: ValType[];
  locals: ValType[];
  body: Code[];
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];

/** A module importing its memory as `env.mem` and exporting each function (no results) by name. */
export function wasmModule(funcs: WasmFunc[]): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0]);
  const memImport = [...name('env'), ...name('mem'), 0x02, 0x00, 0x01]; // memory, limits min 1, no max
  const code = funcs.map((f) => {
    const body = [...vec(f.locals.map((t) => [1, t])), ...flatten(f.body), 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([memImport])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

/** Compile `funcs` into a module on `memory` (imported as env.mem) and return its exports. */
export function instantiate<T>(funcs: WasmFunc[], memory: WasmMemory): T {
  return new WA.Instance(new WA.Module(wasmModule(funcs)), { env: { mem: memory } }).exports as unknown as T;
}
