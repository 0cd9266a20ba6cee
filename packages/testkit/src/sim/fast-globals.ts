/**
 * Module-level aliases of the globals the simulator calls on every event. Inside jest's vm sandbox each
 * lookup of a global name (Math, String, Promise, setImmediate …) goes through the sandbox's property
 * interceptors and costs about half a microsecond, which made those lookups the largest single cost of
 * a simulated run; an alias is resolved once, at load.
 */
export const { imul, floor, max, min, round, trunc } = Math;
export const fromCharCode = String.fromCharCode;
export const NativePromise = Promise;
export const nextImmediate = setImmediate;
