import { createBudgetLimiter, type BudgetLimiter } from '@cohort/common';

/**
 * A per-user budget for one kind of action (docs/security.md: chat creation, member additions, message edits),
 * shared by replicas through Redis: libs/common's budget limiter, named here so use cases say what they charge.
 */
export type ActionLimiter = BudgetLimiter;
export const createActionLimiter = createBudgetLimiter;

/** Points to take from one limiter. */
export interface Charge {
  limiter: ActionLimiter;
  points: number;
}

/**
 * Takes every charge first (a refusal is a 429 before anything is checked or written), then runs `check`; when a
 * charge or `check` fails, what was taken is given back, so a refused or invalid request costs no budget. `write`
 * runs last and is what the budget pays for.
 */
export async function withBudget<T>(
  charges: readonly Charge[],
  userId: string,
  check: () => Promise<void>,
  write: () => Promise<T>,
): Promise<T> {
  const taken: Charge[] = [];
  try {
    for (const charge of charges) {
      await charge.limiter.consume(userId, charge.points);
      taken.push(charge);
    }
    await check();
  } catch (err) {
    await Promise.all(taken.map((charge) => charge.limiter.refund(userId, charge.points)));
    throw err;
  }
  return write();
}
