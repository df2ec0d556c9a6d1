/** The queue group of the rollouts service: each request or event is handled by one replica. */
export const ROLLOUTS_QUEUE = 'flotilla-rollouts';
