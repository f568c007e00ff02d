/** @type {import('jest').Config} */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: require('./package.json').name,
  // The preset's testTimeout is a global option that jest ignores inside `projects` (the root run).
  setupFilesAfterEnv: ['<rootDir>/test/jest.setup.ts'],
};
