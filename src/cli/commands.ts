// The registry of subcommands: one module per file, listed here.
import type { CommandModule } from 'yargs';
import { backendCommand } from './backend.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [backendCommand];
