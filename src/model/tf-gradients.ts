// Gradient registration for tfjs-core under Node ESM. The Node bundle of @tensorflow/tfjs-core
// (dist/tf-core.node.js) ships no gradient functions: the umbrella @tensorflow/tfjs package
// normally imports `dist/register_all_gradients`, but that file is ES-module source with
// extension-less relative imports inside a package not marked `"type": "module"`, so Node cannot
// load it as is. A tiny module-resolution hook (node:module `register`) adds the `.js` extension
// and the ES-module format for files under tfjs-core/dist, then the registration file is
// imported. tfjs keeps its engine and registries on globalThis and checks tensors by duck
// typing, so the gradients registered by that copy serve the copy everyone else imports.
import * as tf from '@tensorflow/tfjs-core';
import { register } from 'node:module';
import { SpacetimeError } from '../util/errors.js';

const HOOK = `
export async function resolve(spec, ctx, next) {
  const parent = ctx.parentURL || '';
  const inCore = parent.includes('/@tensorflow/tfjs-core/dist/');
  if (inCore && spec.startsWith('.') && !/\\.[cm]?js$/.test(spec)) {
    return { ...(await next(spec + '.js', ctx)), format: 'module' };
  }
  if (inCore && spec.startsWith('.') || spec.includes('@tensorflow/tfjs-core/dist/register_all_gradients')) {
    return { ...(await next(spec, ctx)), format: 'module' };
  }
  return next(spec, ctx);
}`;

let pending: Promise<void> | null = null;

/** True when tfjs has gradient functions registered (checked on a common kernel). */
export function gradientsRegistered(): boolean {
  return tf.getGradient('Sum') !== undefined && tf.getGradient('Multiply') !== undefined;
}

/**
 * Make sure every tfjs-core gradient is registered (idempotent; a no-op when another package
 * such as tfjs-node already did). Call once before the first `tf.grads` / optimizer step.
 */
export function ensureGradients(): Promise<void> {
  if (gradientsRegistered()) return Promise.resolve();
  pending ??= (async () => {
    register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
    try {
      await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    } catch (err) {
      pending = null;
      throw new SpacetimeError(`cannot register tfjs gradients: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!gradientsRegistered()) throw new SpacetimeError('cannot register tfjs gradients: registration had no effect');
  })();
  return pending;
}
