// Root runner: every workspace is a jest project, so `npm test` runs the whole tree in one process pool.
// testTimeout is a global option (ignored inside project configs), so it lives here.
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    '<rootDir>/libs/*/jest.config.js',
    '<rootDir>/services/*/jest.config.js',
    '<rootDir>/apps/embedded/jest.config.js',
    '<rootDir>/test/jest.config.js',
    '<rootDir>/bench/jest.config.js',
  ],
  testTimeout: 30000,
};
