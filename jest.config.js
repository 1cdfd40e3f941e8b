/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 30000,
  // Two test files at a time (each jest worker has its own Redis db, see testDbUrl(); process
  // tests tag and reap their own processes): about 10 minutes instead of 18 on a 2-core machine.
  maxWorkers: 2,
  transform: {
    // ts-jest 29.4 deprecates its own `isolatedModules` option in favour of the
    // compiler option; inline compiler options here are merged over
    // tsconfig.json. Transpile-only (type checking is `npm run typecheck`),
    // and required by ts-jest for module "node16".
    '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true } }],
  },
};
