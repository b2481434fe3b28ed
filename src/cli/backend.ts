// `spacetime backend`: initialise the tensor backend and report which one runs.
import type { CommandModule } from 'yargs';
import { BACKENDS, selectBackend } from '../model/backend.js';

export const backendCommand: CommandModule<object, { backend: string }> = {
  command: 'backend',
  describe: 'Show which tensor backend would run (auto falls back tfjs-node-gpu → tfjs-node → wasm → cpu)',
  builder: (y) =>
    y
      .option('backend', { type: 'string', default: 'auto', choices: BACKENDS as unknown as string[], describe: 'tensor backend' })
      .example('$0 backend', 'print the backend that auto selects')
      .example('$0 backend --backend cpu', 'check that the cpu backend starts'),
  handler: async (argv) => {
    const name = await selectBackend(argv.backend, { quiet: true });
    process.stdout.write(`${name}\n`);
  },
};
