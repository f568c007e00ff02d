/** True when A and B are the same type (each assignable to the other). Internal to the contract files. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** `assertSame<Same<A, B>>()` fails to compile unless A and B are the same type: a drift check with no runtime cost. */
export const assertSame = <T extends true>(): T | undefined => undefined;
