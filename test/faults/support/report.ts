import { SIZE_NAME } from './size';

/** One machine-readable result line per case (`{"case":…,"size":…,…}`), printed when the case ends. */
export function report(caseName: string, figures: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ case: caseName, size: SIZE_NAME, ...figures })}\n`);
}
