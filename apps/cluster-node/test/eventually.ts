/** Shared by the process tests of apps/cluster-node. */

/** Retries `attempt` (pacing 25 ms between tries) until it returns a value, or fails after `ms`. */
export async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}
