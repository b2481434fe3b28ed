// `spacetime verify FILE`: check a generated file's provenance manifest (signature + content hash).
import type { CommandModule } from 'yargs';
import { verifyFile } from '../infer/provenance.js';

export const verifyCommand: CommandModule<object, { file: string; json?: boolean }> = {
  command: 'verify <file>',
  describe: 'Check the provenance manifest of a generated file: Ed25519 signature and content hash',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'generated mp4/webm/gif (manifest embedded or in <file>.json)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the full result as JSON' })
      .example('$0 verify out.mp4', 'exit 0 if the manifest is genuine and the frames are unchanged'),
  handler: async (argv) => {
    const r = await verifyFile(argv.file);
    if (argv.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      process.stdout.write(`${argv.file}: ${r.ok ? 'VALID' : 'INVALID'} (${r.reason})\n`);
      if (r.manifest) process.stdout.write(`  manifest: ${r.source}; signer ${r.fingerprint}${r.localKey ? ' (this machine)' : ''}; model ${r.manifest.model?.id} ${String(r.manifest.model?.hash).slice(0, 16)}; created ${r.manifest.created}\n`);
    }
    if (!r.ok) process.exitCode = 3;
  },
};
