/**
 * Every fault case runs in two sizes: SMOKE (the default, bounded for CI on a 2-core machine) and FULL
 * (`FAULTS_SIZE=full`), the size the issue asks for. Tests read their counts through `bySize`.
 */
export const FULL = process.env.FAULTS_SIZE === 'full';
export const SIZE_NAME = FULL ? 'full' : 'smoke';

export function bySize<T>(smoke: T, full: T): T {
  return FULL ? full : smoke;
}
