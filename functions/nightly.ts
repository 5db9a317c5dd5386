/** Placeholder replaced by the nightly rebuilds issue. */
export const handler = async (): Promise<void> => {
  throw new Error("nightly rebuilds are not implemented yet");
};
