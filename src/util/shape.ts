// Shape assertions at module boundaries (STYLE.md §3). Legend used across the repo:
//   B batch, T latent frames, H/W latent height/width, C channels,
//   N tokens = ceil(T/pt)·ceil(H/ph)·ceil(W/pw), D hidden width, L text tokens.
import { SpacetimeError } from './errors.js';

/** A dimension spec: a number must match; a string names a dim that must be consistent; null is anything. */
export type DimSpec = number | string | null;

/**
 * Assert that `shape` matches `spec`, binding named dims in `env` (shared across calls).
 * Throws a readable error: `x: expected (B, N, 64), got (2, 10, 32)`.
 */
export function checkShape(name: string, shape: readonly number[], spec: readonly DimSpec[], env: Record<string, number> = {}): Record<string, number> {
  const fmt = (s: readonly (number | string | null)[]) => `(${s.map((d) => (d === null ? '*' : String(d))).join(', ')})`;
  const fail = () => {
    throw new SpacetimeError(`${name}: expected shape ${fmt(spec)}, got ${fmt(shape)}`);
  };
  if (shape.length !== spec.length) fail();
  spec.forEach((d, i) => {
    if (d === null) return;
    if (typeof d === 'number') {
      if (shape[i] !== d) fail();
    } else if (d in env) {
      if (env[d] !== shape[i]) fail();
    } else {
      env[d] = shape[i];
    }
  });
  return env;
}
