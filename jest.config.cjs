/** Jest runs TypeScript sources through swc (CommonJS); `tsc -b` type-checks separately. */
module.exports = {
  testEnvironment: 'node',
  // The machine has 2 cores; jest would default to one worker there, and the simulation seeds need both.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/jest.summary-reporter.cjs'],
  roots: ['<rootDir>/packages', '<rootDir>/apps'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  moduleNameMapper: {
    // Every workspace package by its TypeScript entry (their dist is ESM, which jest's CommonJS cannot load).
    '^@kommander/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};
