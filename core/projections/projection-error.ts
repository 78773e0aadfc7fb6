/** An event the read models could not take; the projector stops at it rather than skip it. */
export class ProjectionError extends Error {
  constructor(
    readonly position: bigint,
    readonly eventType: string,
    cause: unknown,
  ) {
    super(`cannot project ${eventType} at position ${position}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'ProjectionError';
  }
}
