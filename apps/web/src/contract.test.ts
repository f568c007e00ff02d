import { expect, it } from 'vitest';
import { ASSISTANT_USER_ID as SERVER_ID } from '../../../libs/common/src/assistant/identity';
import { ASSISTANT_USER_ID } from './contract';

it('knows the assistant by the id the server gives it', () => {
  expect(ASSISTANT_USER_ID).toBe(SERVER_ID);
});
