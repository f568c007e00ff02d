/**
 * Writes the generated pages of docs/ (HTTP API, Socket.IO events and the bus, error codes) from the contract
 * tables in libs/common/src/contracts. `npm run docs:generate`; the gateway's docs test fails when they are stale.
 * docs/configuration.md is written by hand (its test checks it names every variable each service reads).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { renderContractDocs } from '@cohort/common';

const DOCS_DIR = join(__dirname, '..', 'docs');

async function main(): Promise<void> {
  for (const [file, content] of Object.entries(renderContractDocs())) {
    const path = join(DOCS_DIR, file);
    // Formatted as `npm run lint` (prettier --check) expects, so generating never makes the tree fail lint.
    const options = await prettier.resolveConfig(path);
    writeFileSync(path, await prettier.format(content, { ...options, filepath: path }));
    console.log(`wrote docs/${file}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
