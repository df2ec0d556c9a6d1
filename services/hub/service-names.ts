/** The hub services that can run in one process (`flotilla hub --services ...`). */
export const hubServiceNames = ['api', 'resolver', 'rollouts', 'status', 'notifications'] as const;
export type HubServiceName = (typeof hubServiceNames)[number];
