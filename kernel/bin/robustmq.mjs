#!/usr/bin/env node
// The kernel runs from TypeScript sources: register tsx's loader, then hand over to the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main(process.argv);
