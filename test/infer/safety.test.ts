// Prompt policy, watermark and provenance: genuine, tampered and re-encoded files.
import { describe, expect, it, beforeAll } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { applyPolicy, loadPolicy, PolicyRefusal } from '../../src/infer/policy.js';
import { detectWatermark, embedWatermark, loadWatermarkKey, psnr } from '../../src/infer/watermark.js';
import { canonicalJson, checkSignature, verifyFile } from '../../src/infer/provenance.js';
import { writeGenerated } from '../../src/infer/output.js';
import { readVideo, writeVideo } from '../../src/data/video.js';
import { Rng } from '../../src/util/rng.js';
import { movingSquare, runCli, tmpDir } from '../helpers.js';

const dir = tmpDir();
const cfgDir = path.join(dir, 'config');
process.env.SPACETIME_CONFIG_DIR = cfgDir;
const ROOT = path.resolve(import.meta.dirname, '../..');

/** A scene with a gradient background, texture noise and a moving ball (not flat: a harder case). */
function scene(n: number, w: number, h: number, seed: number) {
  const rng = new Rng(seed);
  const noise = Array.from({ length: w * h }, () => rng.range(-6, 6));
  const frames = [];
  const r0 = rng.range(30, 200);
  for (let t = 0; t < n; t++) {
    const d = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        const v = noise[y * w + x];
        d[i] = r0 + y * 0.3 + v;
        d[i + 1] = 90 + x * 0.4 + v;
        d[i + 2] = 150 - y * 0.5 + v;
        const cx = 6 + 3 * t;
        const cy = h / 2;
        if ((x - cx) ** 2 + (y - cy) ** 2 < 36) d.set([220, 30, 30], i);
      }
    frames.push({ width: w, height: h, data: d });
  }
  return frames;
}

describe('prompt policy', () => {
  it('blocks on a matching term and names the rule, rewrites, and passes clean prompts', async () => {
    const policy = await loadPolicy(path.join(ROOT, 'configs/policy.example.json'));
    expect(() => applyPolicy(policy, 'taylor  swift dancing in the rain')).toThrow(PolicyRefusal);
    expect(() => applyPolicy(policy, 'Taylor Swift dancing')).toThrow(/public-figures/);
    expect(applyPolicy(policy, 'a red ball bounces')).toEqual({ prompt: 'a red ball bounces', applied: [] });
    const r = applyPolicy(policy, 'a can of Coca-Cola rolls left');
    expect(r.prompt).toBe('a can of a generic brand rolls left');
    expect(r.applied).toEqual(['brand-names']);
    // word boundaries: a term inside another word does not match
    expect(applyPolicy(policy, 'a gorey-looking sunset').applied).toEqual([]);
  });

  it('rejects malformed policy files with the file and the reason', async () => {
    const bad = path.join(dir, 'bad-policy.json');
    await fs.writeFile(bad, JSON.stringify({ rules: [{ id: 'x', action: 'block', patterns: ['(unclosed'] }] }));
    await expect(loadPolicy(bad)).rejects.toThrow(/bad-policy\.json: rule 'x': bad pattern/);
    await fs.writeFile(bad, '{"rules": [{"id": "y", "action": "rewrite", "terms": ["a"]}]}');
    await expect(loadPolicy(bad)).rejects.toThrow(/rewrite needs a replacement/);
    await fs.writeFile(bad, '{nope');
    await expect(loadPolicy(bad)).rejects.toThrow(/bad-policy\.json: not valid JSON/);
  });
});

describe('watermark', () => {
  let key: Buffer;
  beforeAll(async () => {
    key = await loadWatermarkKey();
  });

  it('costs about 42 dB PSNR and is found in raw frames but not with another key or in clean frames', () => {
    const clean = scene(12, 64, 64, 1);
    const marked = embedWatermark(clean, key);
    expect(psnr(clean, marked)).toBeGreaterThan(40);
    expect(detectWatermark(marked, key).detected).toBe(true);
    expect(detectWatermark(marked, Buffer.alloc(32, 1)).detected).toBe(false);
    expect(detectWatermark(clean, key).detected).toBe(false);
  });

  it('survives H.264 re-encoding at normal quality: detection rate and false positives over 12 clips', async () => {
    let hits = 0;
    let falsePos = 0;
    const n = 6;
    for (let s = 0; s < n; s++) {
      const clean = scene(10, s % 2 ? 96 : 64, 64, 100 + s);
      const f1 = path.join(dir, `wm-${s}.mp4`);
      const f0 = path.join(dir, `clean-${s}.mp4`);
      await writeVideo(f1, embedWatermark(clean, key), { fps: 10, crf: 26 });
      await writeVideo(f0, clean, { fps: 10, crf: 26 });
      if (detectWatermark((await readVideo(f1)).frames, key).detected) hits++;
      if (detectWatermark((await readVideo(f0)).frames, key).detected) falsePos++;
    }
    expect(hits).toBe(n);
    expect(falsePos).toBe(0);
  });
});

describe('provenance', () => {
  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}');
  });

  it('genuine output verifies; tampered pixels, tampered manifest and re-encoding fail; detect still finds the mark after re-encode', async () => {
    const out = path.join(dir, 'gen.mp4');
    const frames = movingSquare(8, 64, 48);
    const manifest = await writeGenerated(out, frames, { model: { id: 'tiny', hash: 'abc123' }, settings: { prompt: 'a red square moves right', seed: 1 }, fps: 8 });
    expect(checkSignature(manifest)).toBe(true);
    const side = JSON.parse(await fs.readFile(`${out}.json`, 'utf8'));
    expect(side.settings.prompt).toBe('a red square moves right');
    expect(side.provenance.signature).toBe(manifest.signature);

    const ok = await verifyFile(out);
    expect(ok).toMatchObject({ ok: true, source: 'embedded', signature: true, content: true, localKey: true });

    // CLI, genuine
    const env = { SPACETIME_CONFIG_DIR: cfgDir };
    const v = runCli(['verify', out], { env });
    expect(v.stdout).toMatch(/VALID/);
    expect(v.code).toBe(0);

    // tampered pixels: re-encode modified frames but keep the embedded manifest (copy metadata)
    const { frames: decoded } = await readVideo(out);
    decoded[3].data[100] ^= 0xff;
    const tampered = path.join(dir, 'tampered.mp4');
    await writeVideo(tampered, decoded, { fps: 8, metadata: { comment: `spacetime:${Buffer.from(JSON.stringify(manifest)).toString('base64url')}` } });
    const t = await verifyFile(tampered);
    expect(t).toMatchObject({ ok: false, source: 'embedded', signature: true, content: false });
    const tv = runCli(['verify', tampered], { env });
    expect(tv.code).toBe(3);
    expect(tv.stdout).toMatch(/INVALID \(content hash differs/);

    // tampered manifest (settings edited) in the sidecar of a file without an embedded manifest
    const gif = path.join(dir, 'gen.gif');
    await writeGenerated(gif, frames, { model: { id: 'tiny', hash: 'abc123' }, settings: { prompt: 'p' }, fps: 8 });
    expect((await verifyFile(gif)).ok).toBe(true);
    const sc = JSON.parse(await fs.readFile(`${gif}.json`, 'utf8'));
    sc.provenance.settings.prompt = 'something else';
    await fs.writeFile(`${gif}.json`, JSON.stringify(sc));
    expect(await verifyFile(gif)).toMatchObject({ ok: false, source: 'sidecar', signature: false });

    // re-encoded (lossy) genuine file: verify fails, detect still finds the watermark
    const reenc = path.join(dir, 'reenc.mp4');
    await writeVideo(reenc, (await readVideo(out)).frames, { fps: 8, crf: 23 });
    expect((await verifyFile(reenc)).ok).toBe(false);
    const d = runCli(['detect', reenc], { env });
    expect(d.stdout).toMatch(/watermark present/);
    expect(d.code).toBe(0);
    const dClean = runCli(['detect', path.join(dir, 'clean-0.mp4')], { env });
    expect(dClean.stdout).toMatch(/watermark absent/);
    expect(dClean.code).toBe(4);
  });

  it('reports a missing manifest and a non-video file with one-line errors', async () => {
    const plain = path.join(dir, 'plain.mp4');
    await writeVideo(plain, movingSquare(4, 32, 32), { fps: 4 });
    expect(await verifyFile(plain)).toMatchObject({ ok: false, reason: 'no provenance manifest found' });
    const junk = path.join(dir, 'junk.mp4');
    await fs.writeFile(junk, 'not a video');
    const r = runCli(['verify', junk], { env: { SPACETIME_CONFIG_DIR: cfgDir } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*junk\.mp4: /);
  });
});
