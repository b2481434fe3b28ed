// The user's spacetime config directory: $SPACETIME_CONFIG_DIR, else $XDG_CONFIG_HOME/spacetime,
// else ~/.config/spacetime. Holds the provenance signing key and the watermark key.
import os from 'node:os';
import path from 'node:path';

export function configDir(): string {
  if (process.env.SPACETIME_CONFIG_DIR) return process.env.SPACETIME_CONFIG_DIR;
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'spacetime');
}
