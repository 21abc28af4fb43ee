/**
 * Global setup: starts the servers integration tests need on loopback, once per run.
 * Each part registers itself here (see test/support/*.ts).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<void>> = [];
  return async () => {
    for (const t of teardowns.reverse()) await t();
  };
}
