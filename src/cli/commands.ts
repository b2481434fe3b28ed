// The registry of subcommands: one module per file, listed here.
import type { CommandModule } from 'yargs';
import { backendCommand } from './backend.js';
import { synthCommand } from './synth.js';
import { ingestCommand } from './ingest.js';
import { captionCommand } from './caption.js';
import { upsampleCommand } from './upsample.js';
import { detectCommand } from './detect.js';
import { exportCommand } from './export.js';
import { generateCommand } from './generate.js';
import { verifyCommand } from './verify.js';
import { evalCommand } from './eval.js';
import { benchCommand } from './bench.js';
import { vaeCommand } from './vae.js';
import { encodeCommand } from './encode.js';
import { trainCommand } from './train.js';
import { sampleCommand } from './sample.js';
import { demoCommand } from './demo.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [backendCommand, synthCommand, ingestCommand, exportCommand, generateCommand, verifyCommand, detectCommand, evalCommand, benchCommand, captionCommand, upsampleCommand, vaeCommand, encodeCommand, trainCommand, sampleCommand, demoCommand];
