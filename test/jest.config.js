// System tests: the local cluster through real nginx, faults, the browser end-to-end test.
/** @type {import('jest').Config} */
module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'system',
  rootDir: __dirname,
  testMatch: ['<rootDir>/**/*.test.ts'],
};
