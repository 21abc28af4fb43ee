/** The error a call was rejected with; throws when it resolved instead. */
export async function rejection(p: Promise<unknown>): Promise<Error & { name: string }> {
  try {
    await p;
  } catch (error) {
    return error as Error & { name: string };
  }
  throw new Error('expected the call to be rejected');
}
