/**
 * The runner's test-registering function that the conformance suites call once per case: jest's or
 * node:test's `test`, mocha's `it`, or any function of this shape. Every case is an async function; it
 * fails when its promise rejects.
 */
export type ConformanceTest = (name: string, fn: () => Promise<void>) => void;
