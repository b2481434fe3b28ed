// Provenance manifests for generated media (in the spirit of C2PA, which has no npm library
// that installs from the registry alone and runs offline here): a JSON manifest with the
// model hash, the generation settings and a content hash, signed with Ed25519 (node:crypto).
// The manifest is embedded in the container's metadata (mp4/webm `comment` tag, base64url)
// and written in the JSON sidecar. The content hash covers the decoded RGB frames, so
// remuxing keeps it valid and any pixel change (tampering, re-encoding) breaks it.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { produceAtomic, writeFileAtomic } from '../util/atomic.js';
import { configDir } from '../util/config-dir.js';
import { FileError } from '../util/errors.js';
import { ffmpegPath } from '../data/ffmpeg.js';
import { ffmpegReason, readVideo, type Frame } from '../data/video.js';

export const MANIFEST_FORMAT = 'spacetime-provenance/1';

export interface ProvenanceManifest {
  format: typeof MANIFEST_FORMAT;
  generator: string;
  created: string;
  model: { id: string; hash: string };
  settings: Record<string, unknown>;
  content: { algorithm: 'sha256-rgb24-frames'; hash: string; frames: number; width: number; height: number };
  /** Ed25519 public key, SPKI DER, base64. */
  public_key: string;
  /** Ed25519 signature over canonicalJson(manifest without `signature`), base64. */
  signature?: string;
}

/** JSON with sorted keys at every level: the bytes that are signed. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** sha256 over (width, height, count) then every frame's RGB bytes. */
export function contentHash(frames: readonly Frame[]): string {
  const h = createHash('sha256');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(frames[0]?.width ?? 0, 0);
  head.writeUInt32LE(frames[0]?.height ?? 0, 4);
  head.writeUInt32LE(frames.length, 8);
  h.update(head);
  for (const f of frames) h.update(f.data);
  return h.digest('hex');
}

/** The signing key (PEM, PKCS#8) in <config>/provenance-ed25519.pem, created on first use (mode 600). */
export async function loadSigningKey(file = path.join(configDir(), 'provenance-ed25519.pem')): Promise<KeyObject> {
  try {
    return createPrivateKey(await fs.readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new FileError(file, `cannot read signing key: ${(e as Error).message}`);
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFileAtomic(file, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    await fs.chmod(file, 0o600);
    return privateKey;
  }
}

export function publicKeyB64(priv: KeyObject): string {
  return (createPublicKey(priv).export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
}

/** Short fingerprint of a public key (first 16 hex of its sha256). */
export function keyFingerprint(publicKeyB64Der: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyB64Der, 'base64')).digest('hex').slice(0, 16);
}

/** Build and sign a manifest for frames. */
export function signManifest(
  frames: readonly Frame[],
  info: { model: { id: string; hash: string }; settings: Record<string, unknown>; generator: string },
  key: KeyObject,
): ProvenanceManifest {
  const m: ProvenanceManifest = {
    format: MANIFEST_FORMAT,
    generator: info.generator,
    created: new Date().toISOString(),
    model: info.model,
    settings: info.settings,
    content: { algorithm: 'sha256-rgb24-frames', hash: contentHash(frames), frames: frames.length, width: frames[0].width, height: frames[0].height },
    public_key: publicKeyB64(key),
  };
  m.signature = sign(null, Buffer.from(canonicalJson({ ...m, signature: undefined })), key).toString('base64');
  return m;
}

/** Signature check only. */
export function checkSignature(m: ProvenanceManifest): boolean {
  if (!m.signature || !m.public_key) return false;
  try {
    const pub = createPublicKey({ key: Buffer.from(m.public_key, 'base64'), format: 'der', type: 'spki' });
    return verify(null, Buffer.from(canonicalJson({ ...m, signature: undefined })), pub, Buffer.from(m.signature, 'base64'));
  } catch {
    return false;
  }
}

function ffmpegRun(args: string[], file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpegPath().ffmpeg, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(new FileError(file, `cannot run ffmpeg: ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new FileError(file, ffmpegReason(err)))));
  });
}

const EMBEDDABLE = new Set(['.mp4', '.mov', '.m4v', '.webm', '.mkv']);

/** Embed the manifest in the container metadata by remuxing (no re-encode), atomically. */
export async function embedManifest(file: string, m: ProvenanceManifest): Promise<boolean> {
  const ext = path.extname(file).toLowerCase();
  if (!EMBEDDABLE.has(ext)) return false;
  const payload = Buffer.from(JSON.stringify(m)).toString('base64url');
  await produceAtomic(file, async (tmp) => {
    await ffmpegRun(['-y', '-i', file, '-map', '0', '-c', 'copy', '-map_metadata', '0', '-metadata', `comment=spacetime:${payload}`, ...(ext === '.mp4' || ext === '.mov' || ext === '.m4v' ? ['-movflags', '+faststart'] : []), tmp], file);
  });
  return true;
}

/** The manifest embedded in a file's metadata, or null. */
export async function readEmbeddedManifest(file: string): Promise<ProvenanceManifest | null> {
  const meta = await ffmpegRun(['-i', file, '-f', 'ffmetadata', '-'], file);
  const m = /^comment=spacetime:([A-Za-z0-9_-]+)$/m.exec(meta);
  if (!m) return null;
  try {
    return JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as ProvenanceManifest;
  } catch {
    throw new FileError(file, 'embedded provenance manifest is not valid JSON');
  }
}

/** The sidecar path of an output: `<file>.json`. */
export function sidecarPath(file: string): string {
  return `${file}.json`;
}

export interface VerifyResult {
  ok: boolean;
  source: 'embedded' | 'sidecar' | 'none';
  signature: boolean;
  content: boolean;
  fingerprint: string | null;
  /** Whether the signer is this machine's own key. */
  localKey: boolean;
  reason: string;
  manifest: ProvenanceManifest | null;
}

/** Verify a file's manifest: signature and content hash of the decoded frames. */
export async function verifyFile(file: string, opts: { localKeyFile?: string } = {}): Promise<VerifyResult> {
  let manifest: ProvenanceManifest | null = null;
  let source: VerifyResult['source'] = 'none';
  const { frames } = await readVideo(file);
  if (EMBEDDABLE.has(path.extname(file).toLowerCase())) {
    manifest = await readEmbeddedManifest(file);
    if (manifest) source = 'embedded';
  }
  if (!manifest) {
    try {
      const side = JSON.parse(await fs.readFile(sidecarPath(file), 'utf8')) as { provenance?: ProvenanceManifest };
      if (side.provenance) {
        manifest = side.provenance;
        source = 'sidecar';
      }
    } catch {
      // no sidecar
    }
  }
  if (!manifest) return { ok: false, source, signature: false, content: false, fingerprint: null, localKey: false, reason: 'no provenance manifest found', manifest: null };
  const signature = checkSignature(manifest);
  const content = manifest.content?.hash === contentHash(frames);
  let localKey = false;
  try {
    const local = await fs.readFile(opts.localKeyFile ?? path.join(configDir(), 'provenance-ed25519.pem'), 'utf8');
    localKey = publicKeyB64(createPrivateKey(local)) === manifest.public_key;
  } catch {
    localKey = false;
  }
  const reason = !signature ? 'signature does not match the manifest' : !content ? 'content hash differs: the frames were changed after signing' : 'signature and content hash valid';
  return { ok: signature && content, source, signature, content, fingerprint: manifest.public_key ? keyFingerprint(manifest.public_key) : null, localKey, reason, manifest };
}
