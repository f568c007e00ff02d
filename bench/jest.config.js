// The bench's own tools (light client, stats, the fan-out and connection drivers) against real servers.
/** @type {import('jest').Config} */
module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'bench',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
};
